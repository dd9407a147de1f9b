//! Sound sets: a folder of sound files (or a CSV of files and captions) turned into one
//! training set — every sound decoded once to the model's rate, trimmed of silence, captioned,
//! assigned to the train or validation split and tagged with its licence — stored as
//! `sounds.json` plus one 16-bit PCM file that training reads by offset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::captions::caption_from_path;
use crate::error::{Error, Result};
use crate::media::output::write_atomic;
use crate::media::{DecodeOptions, decode_audio};
use crate::pipeline::model::SAMPLE_RATE;

/// File of the set's index.
pub const INDEX: &str = "sounds.json";
/// File of the set's samples.
pub const SAMPLES: &str = "sounds.pcm";

const AUDIO_EXTENSIONS: &[&str] = &["wav", "ogg", "flac", "mp3", "opus", "aif", "aiff", "m4a"];

/// Which split a sound belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Used to fit the model.
    Train,
    /// Held out for evaluation.
    Validation,
}

/// One sound of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoundEntry {
    /// Source path relative to the library root.
    pub source: String,
    /// What is heard.
    pub caption: String,
    /// Licence of the recording.
    pub licence: String,
    /// Split.
    pub split: Split,
    /// First sample in the PCM file.
    pub offset: usize,
    /// Samples.
    pub len: usize,
}

/// Why a file was left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Source path relative to the library root.
    pub source: String,
    /// Reason.
    pub reason: String,
}

/// The index of a sound set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoundIndex {
    /// Sample rate of the PCM file.
    pub sample_rate: u32,
    /// Sounds in PCM order.
    pub sounds: Vec<SoundEntry>,
    /// Files left out and why.
    pub skipped: Vec<Skipped>,
}

/// How to build a set.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Fraction of sounds held out for validation (chosen by a hash of the path, so a file
    /// keeps its split when the library grows).
    pub validation_fraction: f64,
    /// Shorter sounds (after trimming) are skipped.
    pub min_seconds: f64,
    /// Longest sound: longer recordings (ambiences, machines) are cut into equal pieces of at
    /// most this length, each a sound of its own in the parent file's split.
    pub max_seconds: f64,
    /// Longer files are skipped (beds of many minutes are music or field recordings).
    pub max_file_seconds: f64,
    /// Captions by relative path (from a CSV); others come from the path.
    pub captions: BTreeMap<String, String>,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        Self {
            validation_fraction: 0.1,
            min_seconds: 0.1,
            max_seconds: 30.0,
            max_file_seconds: 300.0,
            captions: BTreeMap::new(),
        }
    }
}

/// Captions from a CSV with `path,caption` rows (RFC 4180 quoting; a header row is allowed;
/// unquoted commas after the path belong to the caption).
pub fn read_caption_csv(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_caption_csv(&text).map_err(|why| Error::media(path, why))
}

/// [`read_caption_csv`] on the file's text.
pub fn parse_caption_csv(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let rows = crate::csv::parse(text).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let file = row[0].trim();
        if i == 0 && file.eq_ignore_ascii_case("path") {
            continue;
        }
        if row.len() < 2 {
            return Err(format!("row {}: expected `path,caption`", i + 1));
        }
        let caption = row[1..].join(",");
        let caption = caption.trim();
        if file.is_empty() || caption.is_empty() {
            return Err(format!("row {}: empty path or caption", i + 1));
        }
        out.insert(file.to_string(), caption.to_string());
    }
    Ok(out)
}

/// Sound files under `root`, sorted, as relative `/`-separated paths.
fn sound_files(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The licence that applies to `file`: the `licence:` line of the nearest `LICENSE` file in
/// its folder or above (up to `root`).
fn licence_of(root: &Path, file: &Path, found: &mut BTreeMap<PathBuf, String>) -> String {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if let Some(l) = found.get(d) {
            return l.clone();
        }
        let text = std::fs::read_to_string(d.join("LICENSE")).ok();
        if let Some(text) = text {
            let licence = text
                .lines()
                .find_map(|l| l.strip_prefix("licence:").map(|v| v.trim().to_string()))
                .unwrap_or_else(|| "see LICENSE".into());
            found.insert(d.to_path_buf(), licence.clone());
            return licence;
        }
        if d == root {
            break;
        }
        dir = d.parent();
    }
    "unknown".into()
}

/// FNV-1a of a string: a split that never changes for a given path.
fn path_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Drop leading and trailing audio quieter than -50 dB below the peak (library files carry
/// silence of arbitrary length, and the synthetic clips place each sound by its onset).
fn trim_silence(samples: &[f32]) -> &[f32] {
    let peak = samples.iter().fold(0f32, |m, &x| m.max(x.abs()));
    let floor = peak * 10f32.powf(-50.0 / 20.0);
    let a = samples.iter().position(|x| x.abs() > floor).unwrap_or(0);
    let b = samples
        .iter()
        .rposition(|x| x.abs() > floor)
        .map_or(a, |i| i + 1);
    &samples[a..b.max(a)]
}

/// Build a set from the sound files under `root` into `out` (created; an existing set there
/// is replaced atomically, file by file). Files that cannot be decoded, are speech or music
/// by their path, or are too short or long are listed as skipped with the reason.
pub fn build_dataset(
    root: &Path,
    out: &Path,
    opts: &DatasetOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<SoundIndex> {
    if !root.is_dir() {
        return Err(Error::media(root, "is not a folder of sound files"));
    }
    if !(0.0..1.0).contains(&opts.validation_fraction) {
        return Err(Error::invalid("the validation fraction must be in [0, 1)"));
    }
    let files = sound_files(root)?;
    if files.is_empty() {
        return Err(Error::media(root, "holds no sound files"));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut licences = BTreeMap::new();
    let mut index = SoundIndex {
        sample_rate: SAMPLE_RATE,
        sounds: Vec::new(),
        skipped: Vec::new(),
    };
    let mut pcm: Vec<i16> = Vec::new();
    let decode = DecodeOptions {
        max_duration_s: opts.max_file_seconds + 30.0,
        ..DecodeOptions::to(SAMPLE_RATE, 1)
    };
    for (i, rel) in files.iter().enumerate() {
        progress(i, files.len());
        let skip = |reason: String| Skipped {
            source: rel.clone(),
            reason,
        };
        let caption = match opts.captions.get(rel) {
            Some(c) => c.clone(),
            None => match caption_from_path(rel) {
                Ok(c) => c,
                Err(reason) => {
                    index.skipped.push(skip(reason));
                    continue;
                }
            },
        };
        let path = root.join(rel);
        let audio = match decode_audio(&path, &decode) {
            Ok(a) => a,
            Err(e) => {
                index.skipped.push(skip(e.to_string()));
                continue;
            }
        };
        let trimmed = trim_silence(&audio.samples);
        let seconds = trimmed.len() as f64 / f64::from(SAMPLE_RATE);
        if seconds < opts.min_seconds || audio.duration_s() > opts.max_file_seconds {
            index.skipped.push(skip(format!(
                "{:.2} s is outside {}-{} s",
                audio.duration_s(),
                opts.min_seconds,
                opts.max_file_seconds
            )));
            continue;
        }
        let split = if (path_hash(rel) % 10_000) as f64 / 10_000.0 < opts.validation_fraction {
            Split::Validation
        } else {
            Split::Train
        };
        let licence = licence_of(root, &path, &mut licences);
        let pieces = (seconds / opts.max_seconds.max(opts.min_seconds))
            .ceil()
            .max(1.0) as usize;
        let piece = trimmed.len().div_ceil(pieces);
        for (k, part) in trimmed.chunks(piece.max(1)).enumerate() {
            index.sounds.push(SoundEntry {
                source: if pieces == 1 {
                    rel.clone()
                } else {
                    format!("{rel}#{}", k + 1)
                },
                caption: caption.clone(),
                licence: licence.clone(),
                split,
                offset: pcm.len(),
                len: part.len(),
            });
            pcm.extend(
                part.iter()
                    .map(|&x| (x.clamp(-1.0, 1.0) * 32767.0).round() as i16),
            );
        }
    }
    progress(files.len(), files.len());
    if index.sounds.is_empty() {
        return Err(Error::media(
            root,
            "no usable sound effects (see the skipped list)",
        ));
    }
    write_atomic(&out.join(SAMPLES), |w| {
        for chunk in pcm.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    })?;
    let json = serde_json::to_vec_pretty(&index).map_err(|e| Error::invalid(e.to_string()))?;
    write_atomic(&out.join(INDEX), |w| w.write_all(&json))?;
    Ok(index)
}

/// A built set, loaded for training: the index and every sample in memory.
pub struct SoundSet {
    /// The index.
    pub index: SoundIndex,
    samples: Vec<f32>,
}

impl SoundSet {
    /// Load the set in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let index_path = dir.join(INDEX);
        let text = std::fs::read(&index_path).map_err(|e| Error::io(&index_path, e))?;
        let index: SoundIndex = serde_json::from_slice(&text)
            .map_err(|e| Error::media(&index_path, format!("invalid sound set index: {e}")))?;
        if index.sample_rate != SAMPLE_RATE {
            return Err(Error::media(
                &index_path,
                format!(
                    "sample rate {} (the model needs {SAMPLE_RATE})",
                    index.sample_rate
                ),
            ));
        }
        let pcm_path = dir.join(SAMPLES);
        let bytes = std::fs::read(&pcm_path).map_err(|e| Error::io(&pcm_path, e))?;
        let samples: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        // Sounds lie back to back and fill the file exactly: anything else is an index
        // from another build of the set.
        let mut next = 0usize;
        for s in &index.sounds {
            let end = s.offset.checked_add(s.len).filter(|_| s.offset == next);
            match end {
                Some(end) if end <= samples.len() => next = end,
                _ => {
                    return Err(Error::media(
                        &index_path,
                        format!("does not match {} (at `{}`)", pcm_path.display(), s.source),
                    ));
                }
            }
        }
        if next != samples.len() {
            return Err(Error::media(
                &index_path,
                format!("does not match {} (its length)", pcm_path.display()),
            ));
        }
        Ok(Self { index, samples })
    }

    /// Samples of sound `i`.
    pub fn samples(&self, i: usize) -> &[f32] {
        let s = &self.index.sounds[i];
        &self.samples[s.offset..s.offset + s.len]
    }

    /// Indices of the sounds in `split`.
    pub fn split(&self, split: Split) -> Vec<usize> {
        (0..self.index.sounds.len())
            .filter(|&i| self.index.sounds[i].split == split)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_trimmed_at_both_ends() {
        let mut x = vec![0.0f32; 100];
        x.extend([0.5, -0.2, 0.1]);
        x.extend(vec![1e-5f32; 50]);
        assert_eq!(trim_silence(&x), &[0.5, -0.2, 0.1]);
        assert!(trim_silence(&[0.0; 10]).is_empty());
    }

    #[test]
    fn caption_csv_accepts_header_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(&p, "path,caption\n\"a/b.wav\",\"door slam\"\nc.wav,rain\n").unwrap();
        let c = read_caption_csv(&p).unwrap();
        assert_eq!(c["a/b.wav"], "door slam");
        assert_eq!(c["c.wav"], "rain");
        std::fs::write(&p, "c.wav\n").unwrap();
        let e = read_caption_csv(&p).unwrap_err().to_string();
        assert!(e.contains("c.csv") && e.contains("row 1"), "{e}");
        let c =
            parse_caption_csv("\"a,b.wav\",\"steps, on gravel\"\nd.wav,wind, gusting\n").unwrap();
        assert_eq!(c["a,b.wav"], "steps, on gravel");
        assert_eq!(c["d.wav"], "wind, gusting");
        assert!(parse_caption_csv("\"x.wav\n").is_err());
    }
}
