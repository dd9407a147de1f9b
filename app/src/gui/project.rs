//! Project files in the editor: the engine's project document ([`ProjectFile`]) with the
//! candidates' audio as float WAVs in a folder beside it, so reopening restores the session
//! exactly. Media that moved is reported, and the clip can be relocated; nothing in a
//! project is ever a reason to crash.

use std::path::{Path, PathBuf};

use avsync_engine::dsp::MelExtractor;
use avsync_engine::media::{DecodeOptions, WavFormat, WavSpec, decode_audio, write_wav};
use avsync_engine::pipeline::RenderedCandidate;
use avsync_engine::pipeline::generate::FULL_BAND_RATE;
use avsync_engine::pipeline::model::SAMPLE_RATE;
pub use avsync_engine::project::Session;
use avsync_engine::project::{ProjectFile, SavedCandidate, audio_dir};
use avsync_engine::{AudioBuffer, Error, Result};

use super::candidate::CandidateItem;

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
        let full_band = match &r.full_band {
            Some(full) => {
                let name = format!("candidate_{:03}_seed{}_full.wav", i + 1, c.seed);
                if !dir.join(&name).is_file() {
                    write_wav(
                        &dir.join(&name),
                        &AudioBuffer::new(FULL_BAND_RATE, 1, full.clone()),
                        &WavSpec {
                            format: WavFormat::Float32,
                            bext: None,
                        },
                    )?;
                }
                Some(folder.join(name))
            }
            None => None,
        };
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
            full_band,
            source: r.source.clone(),
            placement: r.placement,
        });
    }
    ProjectFile::new(session.clone(), saved).write(path)
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
    let file = ProjectFile::read(path)?;
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
        // A full-band file that cannot be read leaves the candidate at the model's band.
        let full_band = c.full_band.as_ref().and_then(|f| {
            decode_audio(&base.join(f), &DecodeOptions::to(FULL_BAND_RATE, 1))
                .ok()
                .map(|a| a.samples)
        });
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
                full_band,
                source: c.source,
                placement: c.placement,
                joins: Vec::new(),
            },
            name: c.name,
            seed: c.seed,
            range: c.range,
            edits: c.edits,
        });
    }
    let mut session = file.session;
    // Candidates whose audio is missing are left out, so the selection may no longer exist.
    session.selected = session.selected.filter(|&s| s < candidates.len());
    Ok(Loaded {
        session,
        candidates,
        missing_audio,
    })
}
