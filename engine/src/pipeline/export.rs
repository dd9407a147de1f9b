//! Delivering a candidate: mastered to the requested rate and level, written as a Broadcast
//! WAV stamped with its position on the clip's timeline, or muxed into a copy of the video
//! at the range it was generated for.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::generate::{FULL_BAND_RATE, RenderedCandidate};
use super::model::SAMPLE_RATE;
use crate::audio::AudioBuffer;
use crate::dsp::FrameRate;
use crate::dsp::loudness::NormalizeReport;
use crate::dsp::master::{MasterSettings, master};
use crate::error::Result;
use crate::media::{Bext, MuxOptions, MuxReport, WavFormat, WavSpec, mux_audio, write_wav};

/// A written WAV.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedWav {
    /// The file.
    #[serde(serialize_with = "crate::media::path_lossy")]
    pub path: PathBuf,
    /// Its sample rate.
    pub sample_rate: u32,
    /// Loudness normalisation, when applied.
    pub loudness: Option<NormalizeReport>,
}

/// Extension of the video a candidate is muxed into: `chosen` when given, else the clip's
/// own container where it can carry the audio (MP4/M4V with AAC, MOV/MKV with PCM), else MP4.
pub fn muxed_extension(video: &Path, chosen: Option<&str>) -> String {
    chosen.map_or_else(
        || {
            video
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .filter(|e| matches!(e.as_str(), "mp4" | "m4v" | "mov" | "mkv"))
                .unwrap_or_else(|| "mp4".into())
        },
        str::to_string,
    )
}

/// Master a candidate for a picture at `fps`: its full-band waveform when it varies a
/// recording, else its waveform at the model's 16 kHz.
pub fn master_candidate(
    candidate: &RenderedCandidate,
    settings: &MasterSettings,
    fps: f64,
) -> Result<(AudioBuffer, Option<NormalizeReport>)> {
    let buffer = match &candidate.full_band {
        Some(full) => AudioBuffer::new(FULL_BAND_RATE, 1, full.clone()),
        None => AudioBuffer::new(SAMPLE_RATE, 1, candidate.audio.clone()),
    };
    master(&buffer, settings, FrameRate::from_fps(fps)?)
}

/// Write mastered audio as a WAV whose BWF time reference places it at `start_s` of the clip.
pub fn write_candidate_wav(
    mastered: &AudioBuffer,
    loudness: Option<NormalizeReport>,
    start_s: f64,
    format: WavFormat,
    description: &str,
    path: &Path,
) -> Result<ExportedWav> {
    let bext = Bext {
        description: description.chars().take(200).collect(),
        originator: "AvSync Studio".into(),
        originator_reference: String::new(),
        time_reference: (start_s * f64::from(mastered.sample_rate)).round() as u64,
        loudness_lufs: loudness.as_ref().and_then(|r| r.after.integrated_lufs),
        true_peak_dbtp: loudness.as_ref().map(|r| r.after.true_peak_dbtp),
    };
    let path = write_wav(
        path,
        mastered,
        &WavSpec {
            format,
            bext: Some(bext),
        },
    )?;
    Ok(ExportedWav {
        path,
        sample_rate: mastered.sample_rate,
        loudness,
    })
}

/// Mux mastered audio that starts at `start_s` of the clip into a copy of `video` at `out`
/// (the picture is copied untouched; silence before the range).
pub fn mux_candidate(
    video: &Path,
    mastered: &AudioBuffer,
    start_s: f64,
    out: &Path,
) -> Result<MuxReport> {
    let lead = (start_s * f64::from(mastered.sample_rate)).round() as usize
        * usize::from(mastered.channels);
    let mut samples = vec![0f32; lead];
    samples.extend_from_slice(&mastered.samples);
    let audio = AudioBuffer::new(mastered.sample_rate, mastered.channels, samples);
    mux_audio(
        video,
        &audio,
        out,
        &MuxOptions {
            offset_frames: 0,
            keep_original_audio: false,
        },
    )
}
