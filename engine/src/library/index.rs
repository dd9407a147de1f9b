//! The library index: per sound its path, size, modification time, length, path words and
//! embeddings, and the files that could not be indexed with the reason. Updating it reads
//! only new and changed files. It lives in its own file (beside the user's settings, or
//! inside a shipped library's folder, whose sounds it then names relative to itself):
//! `AVSLIB1\n`, the JSON header's length (u64, little-endian), the JSON header, then the
//! aisfx embeddings, their joint projections and the sentence embeddings of the path words
//! as little-endian f32 rows (format 1 has no path-word rows; they are added on update).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::embed::SoundEmbedder;
use crate::error::{Error, Result};
use crate::media::output::write_atomic;
use crate::train::captions::{AUDIO_EXTENSIONS, words};

const MAGIC: &[u8; 8] = b"AVSLIB1\n";
/// Format version in the header.
const VERSION: u32 = 2;
/// Largest header read (a hostile length is refused before allocating).
const MAX_HEADER_BYTES: u64 = 512 << 20;
/// Largest embedding width accepted from a file.
const MAX_DIM: usize = 8192;

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// One indexed sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the Unix epoch.
    pub modified_ns: u64,
    /// Length in seconds.
    pub duration_s: f64,
    /// Words of its path below the indexed folder, lowercased.
    pub words: Vec<String>,
}

/// A file that could not be indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Absolute path.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
    /// Size and modification time when tried (a changed file is tried again).
    pub size: u64,
    pub modified_ns: u64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    audio_dim: usize,
    joint_dim: usize,
    #[serde(default)]
    words_dim: usize,
    heads: String,
    roots: Vec<PathBuf>,
    entries: Vec<LibraryEntry>,
    skipped: Vec<Skipped>,
}

/// Where an update is.
#[derive(Debug, Clone)]
pub struct IndexProgress {
    /// Files looked at.
    pub done: usize,
    /// Files found.
    pub total: usize,
    /// The file just looked at.
    pub path: PathBuf,
}

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateReport {
    /// Sound files found under the folder.
    pub found: usize,
    /// Newly indexed.
    pub added: usize,
    /// Indexed again because they changed.
    pub changed: usize,
    /// Left as they were.
    pub unchanged: usize,
    /// Gone from the folder, removed from the index.
    pub removed: usize,
    /// Could not be indexed (listed in [`LibraryIndex::skipped`]).
    pub skipped: usize,
    /// Stopped before the end (what was done is kept).
    pub cancelled: bool,
}

/// The index of a sound library.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryIndex {
    /// Folders indexed.
    pub roots: Vec<PathBuf>,
    /// The sounds.
    pub entries: Vec<LibraryEntry>,
    /// Files that could not be indexed.
    pub skipped: Vec<Skipped>,
    audio_dim: usize,
    joint_dim: usize,
    words_dim: usize,
    heads: String,
    audio: Vec<f32>,
    joint: Vec<f32>,
    /// Sentence embeddings of each sound's path words (empty in an index of format 1).
    words: Vec<f32>,
}

impl LibraryIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            roots: Vec::new(),
            entries: Vec::new(),
            skipped: Vec::new(),
            audio_dim: 0,
            joint_dim: 0,
            words_dim: 0,
            heads: String::new(),
            audio: Vec::new(),
            joint: Vec::new(),
            words: Vec::new(),
        }
    }

    /// Sounds indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The aisfx embedding of sound `i`.
    pub fn audio_embedding(&self, i: usize) -> &[f32] {
        &self.audio[i * self.audio_dim..(i + 1) * self.audio_dim]
    }

    /// The joint-space embedding of sound `i`.
    pub fn joint_embedding(&self, i: usize) -> &[f32] {
        &self.joint[i * self.joint_dim..(i + 1) * self.joint_dim]
    }

    /// The sentence embedding of sound `i`'s path words (what its name says is heard), when
    /// the index has them.
    pub fn words_embedding(&self, i: usize) -> Option<&[f32]> {
        (self.words_dim > 0).then(|| &self.words[i * self.words_dim..(i + 1) * self.words_dim])
    }

    /// The sound indexed at `path`.
    pub fn find(&self, path: &Path) -> Option<usize> {
        self.entries.iter().position(|e| e.path == path)
    }

    /// Read the index at `path`; a missing file is an empty index. Paths stored relative
    /// (sounds in the index's own folder, as a shipped library keeps them) are resolved
    /// against that folder.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut index = Self::from_bytes(&bytes).map_err(|why| Error::media(path, why))?;
        let base = std::fs::canonicalize(folder_of(path)).unwrap_or_else(|_| folder_of(path));
        index.map_paths(|p| {
            if p == Path::new(".") {
                base.clone()
            } else if p.is_relative() {
                base.join(p)
            } else {
                p.to_path_buf()
            }
        });
        Ok(index)
    }

    /// Apply `f` to every path the index stores.
    fn map_paths(&mut self, f: impl Fn(&Path) -> PathBuf) {
        for p in self.roots.iter_mut() {
            *p = f(p);
        }
        for e in self.entries.iter_mut() {
            e.path = f(&e.path);
        }
        for s in self.skipped.iter_mut() {
            s.path = f(&s.path);
        }
    }

    /// Parse an index file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let not = |why: &str| format!("not a library index: {why}");
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| not("bad magic"))?;
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| not("truncated"))?;
        let len = u64::from_le_bytes(*len);
        if len > MAX_HEADER_BYTES || len > rest.len() as u64 {
            return Err(not("header length beyond the file"));
        }
        let (header, body) = rest.split_at(len as usize);
        let h: Header = serde_json::from_slice(header).map_err(|e| not(&format!("header: {e}")))?;
        if h.version > VERSION {
            return Err(format!(
                "library index format {} is newer than this version reads",
                h.version
            ));
        }
        if h.audio_dim > MAX_DIM || h.joint_dim > MAX_DIM || h.words_dim > MAX_DIM {
            return Err(not("embedding width out of range"));
        }
        let n = h.entries.len();
        let floats = n
            .checked_mul(h.audio_dim + h.joint_dim + h.words_dim)
            .and_then(|f| f.checked_mul(4))
            .ok_or_else(|| not("size overflow"))?;
        if body.len() != floats {
            return Err(not(&format!(
                "{} bytes of embeddings for {n} sounds, expected {floats}",
                body.len()
            )));
        }
        let mut values = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let audio: Vec<f32> = values.by_ref().take(n * h.audio_dim).collect();
        let joint: Vec<f32> = values.by_ref().take(n * h.joint_dim).collect();
        let words: Vec<f32> = values.collect();
        if audio
            .iter()
            .chain(&joint)
            .chain(&words)
            .any(|v| !v.is_finite())
        {
            return Err(not("an embedding is not finite"));
        }
        Ok(Self {
            roots: h.roots,
            entries: h.entries,
            skipped: h.skipped,
            audio_dim: h.audio_dim,
            joint_dim: h.joint_dim,
            words_dim: h.words_dim,
            heads: h.heads,
            audio,
            joint,
            words,
        })
    }

    /// Write the index to `path` (a temporary file renamed into place). Sounds inside the
    /// index's own folder are stored relative to it, so a library shipped or moved with its
    /// index keeps working.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut stored = self.clone();
        let base = std::fs::canonicalize(folder_of(path)).unwrap_or_else(|_| folder_of(path));
        stored.map_paths(|p| match p.strip_prefix(&base) {
            Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
            Ok(rel) => rel.to_path_buf(),
            Err(_) => p.to_path_buf(),
        });
        stored.write(path)
    }

    fn write(&self, path: &Path) -> Result<()> {
        let header = Header {
            version: VERSION,
            audio_dim: self.audio_dim,
            joint_dim: self.joint_dim,
            words_dim: self.words_dim,
            heads: self.heads.clone(),
            roots: self.roots.clone(),
            entries: self.entries.clone(),
            skipped: self.skipped.clone(),
        };
        let json = serde_json::to_vec(&header).map_err(|e| Error::invalid(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        write_atomic(path, |w| {
            w.write_all(MAGIC)?;
            w.write_all(&(json.len() as u64).to_le_bytes())?;
            w.write_all(&json)?;
            let mut buf = Vec::with_capacity(64 << 10);
            for v in self.audio.iter().chain(&self.joint).chain(&self.words) {
                buf.extend_from_slice(&v.to_le_bytes());
                if buf.len() >= 64 << 10 {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
            w.write_all(&buf)
        })?;
        Ok(())
    }

    /// Index the sounds under `root`: new and changed files are embedded, unchanged ones
    /// kept, vanished ones removed. `progress` is called after each file; returning `false`
    /// stops (the index stays consistent, holding what was done).
    pub fn update(
        &mut self,
        root: &Path,
        embedder: &SoundEmbedder,
        progress: &mut dyn FnMut(&IndexProgress) -> bool,
    ) -> Result<UpdateReport> {
        let root = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        if !root.is_dir() {
            return Err(Error::media(&root, "is not a folder"));
        }
        self.adopt_heads(embedder)?;
        if !self.roots.contains(&root) {
            self.roots.push(root.clone());
        }
        let files = sound_files(&root);
        let mut report = UpdateReport {
            found: files.len(),
            ..UpdateReport::default()
        };
        // Forget what is gone from this folder.
        let present: HashMap<&Path, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_path(), i))
            .collect();
        let gone: Vec<usize> = (0..self.entries.len())
            .filter(|&i| {
                let p = &self.entries[i].path;
                p.starts_with(&root) && !present.contains_key(p.as_path())
            })
            .collect();
        report.removed = gone.len();
        for i in gone.into_iter().rev() {
            self.remove(i);
        }
        self.skipped
            .retain(|s| !s.path.starts_with(&root) || present.contains_key(s.path.as_path()));
        let mut at: HashMap<PathBuf, usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        for (done, f) in files.iter().enumerate() {
            let known = at.get(&f.path).copied();
            let same = |size: u64, modified: u64| size == f.size && modified == f.modified_ns;
            let tried = self
                .skipped
                .iter()
                .position(|s| s.path == f.path)
                .filter(|&k| same(self.skipped[k].size, self.skipped[k].modified_ns));
            if let Some(i) = known
                && same(self.entries[i].size, self.entries[i].modified_ns)
            {
                report.unchanged += 1;
            } else if tried.is_some() {
                report.skipped += 1;
            } else {
                self.skipped.retain(|s| s.path != f.path);
                match embedder.sound(&f.path) {
                    Ok(e) => {
                        let entry = LibraryEntry {
                            path: f.path.clone(),
                            size: f.size,
                            modified_ns: f.modified_ns,
                            duration_s: e.duration_s,
                            words: path_words(&root, &f.path),
                        };
                        let words = embedder.describe(&[entry.words.join(" ").as_str()])?;
                        match known {
                            Some(i) => {
                                self.entries[i] = entry;
                                self.audio_row_mut(i).copy_from_slice(&e.audio);
                                self.joint_row_mut(i).copy_from_slice(&e.joint);
                                let d = self.words_dim;
                                self.words[i * d..(i + 1) * d].copy_from_slice(&words);
                                report.changed += 1;
                            }
                            None => {
                                self.entries.push(entry);
                                self.audio.extend_from_slice(&e.audio);
                                self.joint.extend_from_slice(&e.joint);
                                self.words.extend_from_slice(&words);
                                at.insert(f.path.clone(), self.entries.len() - 1);
                                report.added += 1;
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(i) = known {
                            self.remove(i);
                            at = self
                                .entries
                                .iter()
                                .enumerate()
                                .map(|(i, e)| (e.path.clone(), i))
                                .collect();
                        }
                        self.skipped.push(Skipped {
                            path: f.path.clone(),
                            reason: reason_of(&e),
                            size: f.size,
                            modified_ns: f.modified_ns,
                        });
                        report.skipped += 1;
                    }
                }
            }
            let go_on = progress(&IndexProgress {
                done: done + 1,
                total: files.len(),
                path: f.path.clone(),
            });
            if !go_on {
                report.cancelled = true;
                break;
            }
        }
        Ok(report)
    }

    /// [`LibraryIndex::update`], saving the index to `file` every `every` and at the end,
    /// so an interrupted run keeps its work. `progress` returning `false` stops (after a
    /// save); the report covers the whole run.
    pub fn update_saving(
        &mut self,
        root: &Path,
        embedder: &SoundEmbedder,
        file: &Path,
        every: Duration,
        progress: &mut dyn FnMut(&IndexProgress) -> bool,
    ) -> Result<UpdateReport> {
        let mut total = UpdateReport::default();
        loop {
            let chunk = Instant::now();
            let mut stopped = false;
            let r = self.update(root, embedder, &mut |p| {
                stopped = !progress(p);
                !stopped && chunk.elapsed() < every
            })?;
            self.save(file)?;
            // Files a chunk indexed count as unchanged in the chunks after it.
            let earlier = total.added + total.changed;
            total.found = r.found;
            total.added += r.added;
            total.changed += r.changed;
            total.removed += r.removed;
            total.skipped = r.skipped;
            total.unchanged = r.unchanged.saturating_sub(earlier);
            if !r.cancelled || stopped {
                total.cancelled = r.cancelled;
                return Ok(total);
            }
        }
    }

    /// Use `embedder`'s widths and heads; joint embeddings from other heads are projected
    /// again from the stored aisfx embeddings (no file is read again).
    fn adopt_heads(&mut self, embedder: &SoundEmbedder) -> Result<()> {
        if self.entries.is_empty() {
            self.audio_dim = embedder.audio_dim();
            self.audio.clear();
            self.joint.clear();
            self.joint_dim = 0;
        } else if self.audio_dim != embedder.audio_dim() {
            return Err(Error::invalid(
                "the index was made with another sound embedding; index into a new file",
            ));
        }
        if self.heads != embedder.heads_id() || (self.joint_dim == 0 && !self.entries.is_empty()) {
            self.joint = embedder.project(&self.audio, self.entries.len())?;
            self.heads = embedder.heads_id().to_string();
        }
        if self.joint_dim == 0 {
            self.joint_dim = embedder.project(&vec![0.0; self.audio_dim], 1)?.len();
        }
        // Path words embedded by another sentence encoder, or not at all (format 1), are
        // embedded again; only text is read, no sound.
        let width = embedder.describe(&[""])?.len();
        if self.words_dim != width || self.words.len() != self.entries.len() * width {
            let texts: Vec<String> = self.entries.iter().map(|e| e.words.join(" ")).collect();
            self.words.clear();
            for chunk in texts.chunks(64) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                self.words.extend(embedder.describe(&refs)?);
            }
            self.words_dim = width;
        }
        Ok(())
    }

    fn audio_row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.audio[i * self.audio_dim..(i + 1) * self.audio_dim]
    }

    fn joint_row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.joint[i * self.joint_dim..(i + 1) * self.joint_dim]
    }

    fn remove(&mut self, i: usize) {
        self.entries.remove(i);
        self.audio
            .drain(i * self.audio_dim..(i + 1) * self.audio_dim);
        self.joint
            .drain(i * self.joint_dim..(i + 1) * self.joint_dim);
        self.words
            .drain(i * self.words_dim..(i + 1) * self.words_dim);
    }
}

impl Default for LibraryIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// A sound file found by the walk.
struct Found {
    path: PathBuf,
    size: u64,
    modified_ns: u64,
}

/// Sound files under `root` by extension, sorted; symbolic links to folders and hidden
/// folders are not followed, unreadable folders are passed over.
fn sound_files(root: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let hidden = entry.file_name().as_encoded_bytes().first() == Some(&b'.');
            if meta.is_dir() {
                if !hidden {
                    stack.push(path);
                }
            } else if meta.is_file() && is_sound(&path) {
                let modified_ns = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as u64);
                out.push(Found {
                    path,
                    size: meta.len(),
                    modified_ns,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn is_sound(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The words of `path` below `root`, file name first, each once.
fn path_words(root: &Path, path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(root).unwrap_or(path).with_extension("");
    let mut out: Vec<String> = Vec::new();
    for c in relative.components().rev() {
        for w in words(&c.as_os_str().to_string_lossy()) {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// The reason of an error without the path (the entry names the file).
fn reason_of(e: &Error) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((_, why)) if text.starts_with('/') => why.to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_words_run_from_the_file_up() {
        let w = path_words(
            Path::new("/lib"),
            Path::new("/lib/Foley/Footsteps/gravelWalk_03.wav"),
        );
        assert_eq!(w, ["gravel", "walk", "footsteps", "foley"]);
    }

    #[test]
    fn sounds_beside_the_index_are_stored_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let mut index = LibraryIndex::new();
        index.audio_dim = 2;
        index.joint_dim = 1;
        index.roots.push(base.clone());
        for path in [
            base.join("birds/crow.ogg"),
            PathBuf::from("/elsewhere/rain.wav"),
        ] {
            index.entries.push(LibraryEntry {
                path,
                size: 1,
                modified_ns: 0,
                duration_s: 1.0,
                words: Vec::new(),
            });
            index.audio.extend([1.0, 0.0]);
            index.joint.push(1.0);
        }
        let file = base.join("library.avslib");
        index.save(&file).unwrap();
        let stored = LibraryIndex::from_bytes(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(stored.entries[0].path, Path::new("birds/crow.ogg"));
        assert_eq!(stored.entries[1].path, Path::new("/elsewhere/rain.wav"));
        assert_eq!(stored.roots[0], Path::new("."));
        // Moved with its folder, it finds its sounds in the new place.
        let moved = tempfile::tempdir().unwrap();
        let to = std::fs::canonicalize(moved.path())
            .unwrap()
            .join("library.avslib");
        std::fs::copy(&file, &to).unwrap();
        let loaded = LibraryIndex::load(&to).unwrap();
        assert_eq!(
            loaded.entries[0].path,
            to.parent().unwrap().join("birds/crow.ogg")
        );
        assert_eq!(loaded.entries[1].path, Path::new("/elsewhere/rain.wav"));
        assert_eq!(loaded.roots[0], to.parent().unwrap());
    }

    #[test]
    fn hostile_index_files_are_refused() {
        assert!(LibraryIndex::from_bytes(b"").is_err());
        assert!(LibraryIndex::from_bytes(b"AVSLIB1\n").is_err());
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            LibraryIndex::from_bytes(&huge)
                .unwrap_err()
                .contains("header length")
        );
        let header = br#"{"version":1,"audio_dim":2,"joint_dim":1,"heads":"","roots":[],
            "entries":[{"path":"/a.wav","size":1,"modified_ns":0,"duration_s":1.0,"words":[]}],
            "skipped":[]}"#;
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(header.len() as u64).to_le_bytes());
        file.extend_from_slice(header);
        assert!(
            LibraryIndex::from_bytes(&file)
                .unwrap_err()
                .contains("expected 12")
        );
        for v in [1.0f32, 2.0, f32::NAN] {
            file.extend_from_slice(&v.to_le_bytes());
        }
        assert!(
            LibraryIndex::from_bytes(&file)
                .unwrap_err()
                .contains("finite")
        );
        let n = file.len();
        file[n - 4..].copy_from_slice(&3.0f32.to_le_bytes());
        let index = LibraryIndex::from_bytes(&file).unwrap();
        assert_eq!(index.audio_embedding(0), [1.0, 2.0]);
        assert_eq!(index.joint_embedding(0), [3.0]);
    }
}
