//! Encoder outputs kept per clip and range, so that changing only the seed, the text or the
//! search settings does not decode and encode the picture again. Files are identified by
//! path, size and modification time, so an edited file is analysed afresh.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::conditioning::{ReferenceTokens, VisualFeatures};
use crate::error::{Error, Result};
use crate::features::track::MotionTrack;

/// A file as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileKey {
    fn of(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

type Seconds = u64;

fn bits(values: &[f64]) -> Vec<Seconds> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// What the picture features depend on: the clip, the model, the window starts and the
/// events in the event track.
type VisualKey = (FileKey, PathBuf, Vec<Seconds>, Vec<Seconds>);

/// Cached analyses and encodings.
#[derive(Default)]
pub struct FeatureCache {
    tracks: HashMap<(FileKey, Vec<Seconds>, usize), Arc<MotionTrack>>,
    visual: HashMap<VisualKey, Arc<VisualFeatures>>,
    reference: HashMap<(FileKey, PathBuf, usize), Arc<ReferenceTokens>>,
    sound: HashMap<FileKey, Arc<Vec<f32>>>,
    /// Lookups answered from the cache (for tests and the editor's status line).
    pub hits: usize,
}

impl FeatureCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The motion track of `range` of `path` on a `grid`, computed by `make` on a miss.
    pub fn track(
        &mut self,
        path: &Path,
        range: (f64, f64),
        grid: usize,
        make: impl FnOnce() -> Result<MotionTrack>,
    ) -> Result<Arc<MotionTrack>> {
        let key = (FileKey::of(path)?, bits(&[range.0, range.1]), grid);
        cached(&mut self.tracks, &mut self.hits, key, make)
    }

    /// The picture features of the windows starting at `starts` for the model in `model_dir`.
    pub fn visual(
        &mut self,
        path: &Path,
        model_dir: &Path,
        starts: &[f64],
        events: &[f64],
        make: impl FnOnce() -> Result<VisualFeatures>,
    ) -> Result<Arc<VisualFeatures>> {
        let key = (
            FileKey::of(path)?,
            model_dir.to_path_buf(),
            bits(starts),
            bits(events),
        );
        cached(&mut self.visual, &mut self.hits, key, make)
    }

    /// The reference tokens of `path` with `codebooks` for the model in `model_dir`.
    pub fn reference(
        &mut self,
        path: &Path,
        model_dir: &Path,
        codebooks: usize,
        make: impl FnOnce() -> Result<ReferenceTokens>,
    ) -> Result<Arc<ReferenceTokens>> {
        let key = (FileKey::of(path)?, model_dir.to_path_buf(), codebooks);
        cached(&mut self.reference, &mut self.hits, key, make)
    }

    /// The sound embedding (reference verifier) of the audio file at `path`.
    pub fn sound_embedding(
        &mut self,
        path: &Path,
        make: impl FnOnce() -> Result<Vec<f32>>,
    ) -> Result<Arc<Vec<f32>>> {
        let key = FileKey::of(path)?;
        cached(&mut self.sound, &mut self.hits, key, make)
    }
}

/// The value under `key`, made and kept on a miss.
fn cached<K: Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, Arc<V>>,
    hits: &mut usize,
    key: K,
    make: impl FnOnce() -> Result<V>,
) -> Result<Arc<V>> {
    if let Some(v) = map.get(&key) {
        *hits += 1;
        return Ok(v.clone());
    }
    let v = Arc::new(make()?);
    map.insert(key, v.clone());
    Ok(v)
}
