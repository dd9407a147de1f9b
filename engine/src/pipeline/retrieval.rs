//! Retrieval as the audio prompt: when the user gives no reference sound, the recordings
//! that best match the description are found in a library (the user's index, else the
//! starter library shipped in the assets) and used as references (eq. 3) and as the drafts
//! that variations start from. Each candidate names the recording it came from, with its
//! licence: a designer must know what they deliver.
//!
//! Retrieval never fails a generation: an unreadable or empty library, or a description
//! that finds nothing, leaves generation from the text alone, with a note saying why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{Model, assets_dir};
use crate::library::{LibraryIndex, search_text};

/// The starter library's folder.
pub fn starter_library() -> PathBuf {
    assets_dir().join("library")
}

/// The index file inside a shipped library's folder.
pub const LIBRARY_INDEX: &str = "library.avslib";
/// The manifest (caption, licence and origin per file) inside a shipped library's folder.
pub const LIBRARY_MANIFEST: &str = "manifest.json";

/// A recording a candidate was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecording {
    /// The file.
    pub path: PathBuf,
    /// What is heard (the library's caption, or the file's path words).
    pub caption: String,
    /// Its licence, as far as it is known.
    pub licence: String,
    /// Where it comes from (a package and path), when the library says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Retrieval score (text-audio similarity plus path words); `None` when given by the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

impl SourceRecording {
    /// A reference the user gave.
    pub fn given(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            caption: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            licence: "the user's own".into(),
            origin: None,
            score: None,
        }
    }
}

/// One entry of a shipped library's manifest.
#[derive(Debug, Clone, Deserialize)]
struct ManifestEntry {
    file: PathBuf,
    caption: String,
    licence: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Manifest {
    sounds: Vec<ManifestEntry>,
}

/// What retrieval found.
#[derive(Debug, Clone, Default)]
pub struct Retrieved {
    /// Recordings, best first.
    pub sources: Vec<SourceRecording>,
    /// Why fewer were found than asked for, when that is worth saying.
    pub note: Option<String>,
}

/// The `k` recordings of the library indexed at `index` (default: the starter library) that
/// best match `text`.
pub fn retrieve(model: &Model, index: Option<&Path>, text: &str, k: usize) -> Retrieved {
    let nothing = |note: String| Retrieved {
        sources: Vec::new(),
        note: Some(note),
    };
    if k == 0 {
        return Retrieved::default();
    }
    if text.trim().is_empty() {
        return nothing("no description to find a recording with; generating without one".into());
    }
    // The description first: a model that cannot embed it need not read the library.
    let (joint, sentence) = match model.text_query(text) {
        Ok(q) => q,
        Err(e) => {
            return nothing(format!(
                "cannot search the library ({e}); generating without a recording"
            ));
        }
    };
    let path = index.map_or_else(|| starter_library().join(LIBRARY_INDEX), Path::to_path_buf);
    let library = match LibraryIndex::load(&path) {
        Ok(l) if l.is_empty() => {
            return nothing(format!(
                "{}: the library index holds no sounds; generating without a recording",
                path.display()
            ));
        }
        Ok(l) => l,
        Err(e) => {
            return nothing(format!(
                "cannot read the library ({e}); generating without a recording"
            ));
        }
    };
    let manifest = read_manifest(&path);
    let hits = search_text(&library, text, &joint, &sentence, k);
    if hits.is_empty() {
        return nothing(format!(
            "{}: nothing in the library matches \"{text}\"; generating without a recording",
            path.display()
        ));
    }
    let sources = hits
        .iter()
        .map(|h| {
            let entry = &library.entries[h.index];
            let known = manifest.get(&entry.path);
            SourceRecording {
                path: entry.path.clone(),
                caption: known.map_or_else(|| entry.words.join(" "), |m| m.caption.clone()),
                licence: known.map_or_else(
                    || "unknown (from your library)".into(),
                    |m| m.licence.clone(),
                ),
                origin: known.and_then(|m| match (&m.package, &m.source) {
                    (Some(p), Some(s)) => Some(format!("Debian package {p}: {s}")),
                    (Some(p), None) => Some(format!("Debian package {p}")),
                    _ => None,
                }),
                score: Some(h.score),
            }
        })
        .collect();
    Retrieved {
        sources,
        note: None,
    }
}

/// The manifest beside the index at `index`, by absolute file path (empty when there is none
/// or it cannot be read: captions then come from the path words).
fn read_manifest(index: &Path) -> HashMap<PathBuf, ManifestEntry> {
    let Some(folder) = index.parent().and_then(|p| std::fs::canonicalize(p).ok()) else {
        return HashMap::new();
    };
    let Ok(text) = std::fs::read_to_string(folder.join(LIBRARY_MANIFEST)) else {
        return HashMap::new();
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        return HashMap::new();
    };
    manifest
        .sounds
        .into_iter()
        .map(|e| (folder.join(&e.file), e))
        .collect()
}
