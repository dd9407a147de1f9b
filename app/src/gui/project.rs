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

use super::studio::{CandidateItem, Edits, Studio};

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

/// A project file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProjectFile {
    version: u32,
    clip: Option<PathBuf>,
    range: (f64, f64),
    playhead: f64,
    request: GenerationRequest,
    seed_locked: bool,
    reference_path: String,
    model_dir: PathBuf,
    selected: Option<usize>,
    candidates: Vec<SavedCandidate>,
}

/// The folder holding a project's audio.
fn audio_dir(project: &Path) -> PathBuf {
    let stem = project
        .file_stem()
        .map_or_else(|| "project".into(), |s| s.to_string_lossy().into_owned());
    project.with_file_name(format!("{stem}.audio"))
}

/// Save `studio` to `path`.
pub fn save(studio: &Studio, path: &Path) -> Result<()> {
    let dir = audio_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let folder = PathBuf::from(dir.file_name().unwrap_or_default());
    let mut candidates = Vec::with_capacity(studio.candidates.len());
    for (i, c) in studio.candidates.iter().enumerate() {
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
        candidates.push(SavedCandidate {
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
        clip: studio.clip.as_ref().map(|c| c.path.clone()),
        range: studio.range,
        playhead: studio.playhead,
        request: studio.request.clone(),
        seed_locked: studio.seed_locked,
        reference_path: studio.reference_path.clone(),
        model_dir: studio.model_dir.clone(),
        selected: studio.selected,
        candidates,
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::invalid(e.to_string()))?;
    write_atomic(path, |w| w.write_all(&json))?;
    Ok(())
}

/// What loading found missing, for the user to fix.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The clip, when it is not where the project says.
    pub missing_clip: Option<PathBuf>,
    /// Candidate audio files that could not be read (those candidates are left out).
    pub missing_audio: Vec<PathBuf>,
}

/// Load the project at `path` into `studio`, replacing its session.
pub fn load(studio: &mut Studio, path: &Path) -> Result<LoadReport> {
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
    let mut report = LoadReport::default();
    studio.clip = None;
    if let Some(clip) = &file.clip {
        if clip.is_file() {
            studio.open(clip);
        } else {
            report.missing_clip = Some(clip.clone());
        }
    }
    studio.range = file.range;
    studio.playhead = file.playhead;
    studio.request = file.request;
    studio.seed_locked = file.seed_locked;
    studio.reference_path = file.reference_path;
    studio.model_dir = file.model_dir;
    studio.candidates.clear();
    let base = path.parent().unwrap_or(Path::new("."));
    let mel = MelExtractor::audioldm()?;
    for c in file.candidates {
        let audio_path = base.join(&c.audio);
        let audio = match decode_audio(&audio_path, &DecodeOptions::to(SAMPLE_RATE, 1)) {
            Ok(a) => a.samples,
            Err(_) => {
                report.missing_audio.push(audio_path);
                continue;
            }
        };
        let spectrogram = mel.log_mel(&audio)?;
        studio.candidates.push(CandidateItem {
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
    studio.selected = file.selected.filter(|s| *s < studio.candidates.len());
    Ok(report)
}
