//! Project files: the clip, the settings and every candidate with its edits, saved as JSON
//! (`.avsync`) with the candidates' audio as float WAVs in a folder beside it, so reopening
//! restores the session exactly. Media that moved is reported, and the clip can be
//! relocated; nothing in a project is ever a reason to crash.

use std::path::{Path, PathBuf};

use avsync_engine::AudioBuffer;
use avsync_engine::dsp::MelExtractor;
use avsync_engine::gmds::Lineage;
use avsync_engine::media::output::write_atomic;
use avsync_engine::media::{DecodeOptions, WavFormat, WavSpec, decode_audio, write_wav};
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::pipeline::{GenerationRequest, RenderedCandidate};
use avsync_engine::verify::VerifierScore;
use avsync_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::candidate::{CandidateItem, Edits};

/// Format version written into project files.
const VERSION: u32 = 1;

/// A candidate as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedCandidate {
    name: String,
    seed: u64,
    range: (f64, f64),
    edits: Edits,
    rank: usize,
    id: usize,
    lineage: Lineage,
    search_score: f64,
    score: f64,
    scores: Vec<VerifierScore>,
    /// Audio file, relative to the project file's folder.
    audio: PathBuf,
}

/// The session a project holds besides its candidates: plain data, so the file format does
/// not depend on the editor's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The clip.
    pub clip: Option<PathBuf>,
    /// In/out range.
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

/// A project file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProjectFile {
    version: u32,
    #[serde(flatten)]
    session: Session,
    candidates: Vec<SavedCandidate>,
}

/// The folder holding a project's audio.
fn audio_dir(project: &Path) -> PathBuf {
    let stem = project
        .file_stem()
        .map_or_else(|| "project".into(), |s| s.to_string_lossy().into_owned());
    project.with_file_name(format!("{stem}.audio"))
}

/// Save `session` with its `candidates` to `path`.
pub fn save(path: &Path, session: &Session, candidates: &[CandidateItem]) -> Result<()> {
    let dir = audio_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let folder = PathBuf::from(dir.file_name().unwrap_or_default());
    let mut saved = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        let name = format!("candidate_{:03}_seed{}.wav", i + 1, c.seed);
        // Generated audio never changes, so a file written by an earlier save is kept.
        if !dir.join(&name).is_file() {
            let audio = AudioBuffer::new(SAMPLE_RATE, 1, c.rendered.audio.clone());
            write_wav(
                &dir.join(&name),
                &audio,
                &WavSpec {
                    format: WavFormat::Float32,
                    bext: None,
                },
            )?;
        }
        let r = &c.rendered;
        saved.push(SavedCandidate {
            name: c.name.clone(),
            seed: c.seed,
            range: c.range,
            edits: c.edits,
            rank: r.rank,
            id: r.id,
            lineage: r.lineage.clone(),
            search_score: r.search_score,
            score: r.score,
            scores: r.scores.clone(),
            audio: folder.join(name),
        });
    }
    let file = ProjectFile {
        version: VERSION,
        session: session.clone(),
        candidates: saved,
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::invalid(e.to_string()))?;
    write_atomic(path, |w| w.write_all(&json))?;
    Ok(())
}

/// A loaded project.
pub struct Loaded {
    /// The session.
    pub session: Session,
    /// The candidates whose audio could be read.
    pub candidates: Vec<CandidateItem>,
    /// Candidate audio files that could not be read (those candidates are left out).
    pub missing_audio: Vec<PathBuf>,
}

/// Load the project at `path`.
pub fn load(path: &Path) -> Result<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file: ProjectFile = serde_json::from_str(&text)
        .map_err(|e| Error::media(path, format!("not a project file: {e}")))?;
    if file.version > VERSION {
        return Err(Error::media(
            path,
            format!(
                "project format {} is newer than this version reads",
                file.version
            ),
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mel = MelExtractor::audioldm()?;
    let mut candidates = Vec::with_capacity(file.candidates.len());
    let mut missing_audio = Vec::new();
    for c in file.candidates {
        let audio_path = base.join(&c.audio);
        let audio = match decode_audio(&audio_path, &DecodeOptions::to(SAMPLE_RATE, 1)) {
            Ok(a) => a.samples,
            Err(_) => {
                missing_audio.push(audio_path);
                continue;
            }
        };
        let spectrogram = mel.log_mel(&audio)?;
        candidates.push(CandidateItem {
            rendered: RenderedCandidate {
                rank: c.rank,
                id: c.id,
                lineage: c.lineage,
                search_score: c.search_score,
                score: c.score,
                scores: c.scores,
                audio,
                mel: spectrogram,
            },
            name: c.name,
            seed: c.seed,
            range: c.range,
            edits: c.edits,
        });
    }
    Ok(Loaded {
        session: file.session,
        candidates,
        missing_audio,
    })
}
