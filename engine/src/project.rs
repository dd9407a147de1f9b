//! The project document: the clip, the settings, the timeline markers and every candidate
//! with its non-destructive edits, as JSON (`.avsync`), with the candidates' audio as WAVs in
//! a folder beside it (`NAME.audio/`). Plain data, so the format depends on no editor state.
//!
//! A project file may come from anywhere, so reading one checks everything a later step
//! relies on: numbers are finite and in range, the settings validate, and candidate audio
//! lies inside the project's folder. Anything else is an error naming the file.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gmds::Lineage;
use crate::media::output::write_atomic;
use crate::pipeline::draft::SoundKind;
use crate::pipeline::{GenerationRequest, SourceRecording};
use crate::verify::VerifierScore;

/// Format version written into project files.
pub const VERSION: u32 = 1;

/// Largest project file read (a project holds settings and paths, never audio).
pub const MAX_PROJECT_BYTES: u64 = 64 << 20;

/// Largest nudge in frames (about 11 hours at 25 fps).
pub const MAX_NUDGE_FRAMES: i64 = 1_000_000;

/// Largest gain change in dB.
pub const MAX_GAIN_DB: f64 = 60.0;

/// Non-destructive edits of a candidate (applied at export, never to the generated audio).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edits {
    /// Kept for export as a stem.
    pub keep: bool,
    /// Shift in frames (positive = later).
    pub nudge_frames: i64,
    /// Gain in dB.
    pub gain_db: f64,
    /// Fade-in seconds.
    pub fade_in_s: f64,
    /// Fade-out seconds.
    pub fade_out_s: f64,
    /// Normalise to -23 LUFS / -1 dBTP at export.
    pub normalize: bool,
}

impl Default for Edits {
    fn default() -> Self {
        Self {
            keep: true,
            nudge_frames: 0,
            gain_db: 0.0,
            fade_in_s: 0.005,
            fade_out_s: 0.005,
            normalize: true,
        }
    }
}

impl Edits {
    /// Why these edits cannot be applied, if they cannot.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.nudge_frames.abs() > MAX_NUDGE_FRAMES {
            return Err(format!("a nudge of {} frames", self.nudge_frames));
        }
        if !(self.gain_db.abs() <= MAX_GAIN_DB) {
            return Err(format!("a gain of {} dB", self.gain_db));
        }
        for (name, s) in [("fade-in", self.fade_in_s), ("fade-out", self.fade_out_s)] {
            if !(s.is_finite() && s >= 0.0) {
                return Err(format!("a {name} of {s} s"));
            }
        }
        Ok(())
    }
}

/// The session a project holds besides its candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The clip.
    pub clip: Option<PathBuf>,
    /// In/out range in seconds.
    pub range: (f64, f64),
    /// Playhead in seconds.
    pub playhead: f64,
    /// The request being edited.
    pub request: GenerationRequest,
    /// Whether the seed stays fixed between generations.
    pub seed_locked: bool,
    /// Reference-sound path as typed.
    pub reference_path: String,
    /// Model directory.
    pub model_dir: PathBuf,
    /// Selected candidate.
    pub selected: Option<usize>,
    /// Event markers, seconds of the clip.
    #[serde(default)]
    pub markers: Vec<f64>,
}

/// A candidate as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCandidate {
    /// Display name.
    pub name: String,
    /// Seed of the generation it came from.
    pub seed: u64,
    /// Range of the clip it covers, in seconds.
    pub range: (f64, f64),
    /// The user's edits.
    pub edits: Edits,
    /// Rank in its generation.
    pub rank: usize,
    /// Id in its search.
    pub id: usize,
    /// How the search reached it.
    pub lineage: Lineage,
    /// Score during the search.
    pub search_score: f64,
    /// Combined verifier score.
    pub score: f64,
    /// Each verifier's score.
    pub scores: Vec<VerifierScore>,
    /// Audio file, relative to the project file's folder.
    pub audio: PathBuf,
    /// Its full-band audio file, when it varies a recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_band: Option<PathBuf>,
    /// The recording it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRecording>,
    /// How that recording was laid on the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<SoundKind>,
}

/// A project file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectFile {
    /// Format version.
    pub version: u32,
    /// The session.
    #[serde(flatten)]
    pub session: Session,
    /// The candidates.
    pub candidates: Vec<SavedCandidate>,
}

/// The folder holding the audio of the project at `project`.
pub fn audio_dir(project: &Path) -> PathBuf {
    let stem = project
        .file_stem()
        .map_or_else(|| "project".into(), |s| s.to_string_lossy().into_owned());
    project.with_file_name(format!("{stem}.audio"))
}

/// Whether `range` is a span of non-negative finite seconds.
fn is_range(range: (f64, f64)) -> bool {
    range.0.is_finite() && range.1.is_finite() && range.0 >= 0.0 && range.1 >= range.0
}

impl ProjectFile {
    /// A project of `session` and `candidates` in the current format.
    pub fn new(session: Session, candidates: Vec<SavedCandidate>) -> Self {
        Self {
            version: VERSION,
            session,
            candidates,
        }
    }

    /// Read and check the project at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len > MAX_PROJECT_BYTES {
            return Err(Error::media(
                path,
                format!("not a project file: {len} bytes (a project holds no audio)"),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes).map_err(|why| Error::media(path, why))
    }

    /// Parse and check a project file's bytes.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let file: Self =
            serde_json::from_slice(bytes).map_err(|e| format!("not a project file: {e}"))?;
        file.check()?;
        Ok(file)
    }

    /// Why this project cannot be opened, if it cannot.
    fn check(&self) -> std::result::Result<(), String> {
        if self.version > VERSION {
            return Err(format!(
                "project format {} is newer than this version reads",
                self.version
            ));
        }
        let s = &self.session;
        if !is_range(s.range) {
            return Err(format!("the range {:?} is not a span of seconds", s.range));
        }
        if !(s.playhead.is_finite() && s.playhead >= 0.0) {
            return Err(format!("the playhead {} is not a time", s.playhead));
        }
        if let Some(t) = s.markers.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
            return Err(format!("a marker at {t} s"));
        }
        if s.markers.len() > crate::pipeline::request::MAX_EVENTS {
            return Err(format!("{} markers", s.markers.len()));
        }
        s.request
            .validate()
            .map_err(|e| format!("the saved settings: {e}"))?;
        if s.selected.is_some_and(|i| i >= self.candidates.len()) {
            return Err("the selected candidate does not exist".into());
        }
        for c in &self.candidates {
            let which = || format!("candidate `{}`", c.name);
            if !is_range(c.range) {
                return Err(format!("{}: the range {:?}", which(), c.range));
            }
            c.edits.check().map_err(|e| format!("{}: {e}", which()))?;
            for audio in std::iter::once(&c.audio).chain(&c.full_band) {
                let inside = audio
                    .components()
                    .all(|p| matches!(p, Component::Normal(_)));
                if !inside || audio.as_os_str().is_empty() {
                    return Err(format!(
                        "{}: its audio `{}` is not inside the project's folder",
                        which(),
                        audio.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Write to `path` atomically (the candidates' audio is written by the caller).
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::invalid(e.to_string()))?;
        write_atomic(path, |w| w.write_all(&json))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectFile {
        let session = Session {
            clip: Some("clip.mp4".into()),
            range: (0.0, 2.0),
            playhead: 1.0,
            request: GenerationRequest::new("clip.mp4"),
            seed_locked: false,
            reference_path: String::new(),
            model_dir: "model".into(),
            selected: Some(0),
            markers: vec![0.5],
        };
        let candidate = SavedCandidate {
            name: "A".into(),
            seed: 1,
            range: (0.0, 2.0),
            edits: Edits::default(),
            rank: 0,
            id: 0,
            lineage: Lineage::Initial { seed: 1 },
            search_score: 0.1,
            score: 0.2,
            scores: Vec::new(),
            audio: "p.audio/a.wav".into(),
            full_band: Some("p.audio/a_full.wav".into()),
            source: Some(SourceRecording::given(Path::new("/sounds/crow.ogg"))),
            placement: Some(SoundKind::OneShot),
        };
        ProjectFile::new(session, vec![candidate])
    }

    #[test]
    fn round_trip_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.avsync");
        let p = project();
        p.write(&path).unwrap();
        assert_eq!(ProjectFile::read(&path).unwrap(), p);
        assert_eq!(audio_dir(&path), dir.path().join("p.audio"));

        let refuse = |edit: &dyn Fn(&mut ProjectFile), why: &str| {
            let mut bad = project();
            edit(&mut bad);
            let text = serde_json::to_vec(&bad).unwrap();
            let e = ProjectFile::parse(&text).unwrap_err();
            assert!(e.contains(why), "{e}");
        };
        refuse(&|p| p.version = VERSION + 1, "newer");
        refuse(&|p| p.session.range = (2.0, 1.0), "range");
        refuse(&|p| p.session.markers.push(-1.0), "marker");
        refuse(&|p| p.session.selected = Some(3), "selected");
        refuse(&|p| p.session.request.sampler.steps = 0, "settings");
        refuse(&|p| p.candidates[0].edits.gain_db = 1e9, "gain");
        refuse(&|p| p.candidates[0].audio = "../x.wav".into(), "inside");
        refuse(&|p| p.candidates[0].audio = "/etc/x.wav".into(), "inside");
        refuse(
            &|p| p.candidates[0].full_band = Some("../x.wav".into()),
            "inside",
        );
        // JSON has no NaN; an overflowing number is refused by the parser.
        let e = ProjectFile::parse(br#"{"version":1,"range":[0,1e999]}"#).unwrap_err();
        assert!(e.contains("not a project file"), "{e}");
    }
}
