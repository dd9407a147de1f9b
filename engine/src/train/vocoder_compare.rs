//! Which waveform stage to ship: every candidate turns the log-mels of the same validation
//! recordings back into audio, and three measures compare the result with the recording.
//!
//! Candidates: the bundled universal HiFi-GAN fed through the mel map (what generation would
//! use), the same network on its own 80-band mel computed from the recording (the upper bound
//! of a diffusion model trained on that mel), the model's own small vocoder, and Griffin-Lim
//! in several settings. Measures: the 64-band log-mel L1 of [`super::vocoder::validate_vocoder`],
//! the multi-resolution STFT distance of Parallel WaveGAN (spectral convergence and
//! log-magnitude L1 at FFT sizes 512, 1024 and 2048), and the cosine distance between aiSFX
//! embeddings (does it still sound like the same kind of sound?). Like the model's training
//! data, recording and output are peak-normalised the Tango way before they are compared, so
//! the measures ignore overall gain. The time each candidate takes is reported per second of
//! audio.

use std::path::Path;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::dataset::SoundSet;
use super::vae::{random_crops, validation_pool};
use crate::audio::AudioBuffer;
use crate::dsp::MelSpectrogram;
use crate::dsp::griffin_lim::{
    GriffinLimConfig, PhaseInit, log_mel_to_audio, spectral_convergence,
};
use crate::dsp::mel::{MelExtractor, sanitize_wav, tango_waveform};
use crate::dsp::stft::{Stft, StftConfig};
use crate::error::{Error, Result};
use crate::eval::distance::cosine_distance;
use crate::models::vocoder::{HifiGan, VocoderConfig};
use crate::models::weights::Weights;
use crate::noise::NoiseRng;
use crate::pipeline::model::{assets_dir, load_aisfx};
use crate::pipeline::pretrained_vocoder::{BUNDLED, PretrainedVocoder};

/// Mel frames per segment (1.28 s, as [`super::vocoder::validate_vocoder`]).
const FRAMES: usize = 128;
/// FFT sizes of the multi-resolution STFT distance (hop a quarter of each).
const RESOLUTIONS: [usize; 3] = [512, 1024, 2048];
/// Magnitude floor before logs.
const FLOOR: f64 = 1e-5;

/// How one candidate scored.
#[derive(Debug, Clone, Serialize)]
pub struct VocoderScore {
    /// Candidate name.
    pub name: String,
    /// Mean L1 between the 64-band log-mels of the output and of the recording.
    pub mel_l1: f64,
    /// Mean spectral convergence over the resolutions.
    pub spectral_convergence: f64,
    /// Mean log-magnitude L1 over the resolutions.
    pub log_magnitude_l1: f64,
    /// Mean cosine distance between the aiSFX embeddings of output and recording.
    pub aisfx_distance: f64,
    /// Seconds of computation per second of audio.
    pub seconds_per_second: f64,
}

impl VocoderScore {
    /// The multi-resolution STFT distance: spectral convergence plus log-magnitude L1.
    pub fn stft_distance(&self) -> f64 {
        self.spectral_convergence + self.log_magnitude_l1
    }
}

/// All candidates on the same segments.
#[derive(Debug, Clone, Serialize)]
pub struct VocoderComparison {
    /// Segments scored (silent crops are skipped).
    pub segments: usize,
    /// Seconds per segment.
    pub segment_seconds: f64,
    /// One row per candidate.
    pub candidates: Vec<VocoderScore>,
}

impl VocoderComparison {
    /// A Markdown table of the scores (lower is better everywhere).
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} segments of {:.2} s; lower is better\n\n\
             | candidate | log-mel L1 | MR-STFT (SC + log-mag) | SC | log-mag L1 | aiSFX distance | s per s of audio |\n\
             |---|---|---|---|---|---|---|\n",
            self.segments, self.segment_seconds
        );
        for c in &self.candidates {
            out.push_str(&format!(
                "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} |\n",
                c.name,
                c.mel_l1,
                c.stft_distance(),
                c.spectral_convergence,
                c.log_magnitude_l1,
                c.aisfx_distance,
                c.seconds_per_second
            ));
        }
        out
    }
}

/// A way to turn a recording's log-mel back into audio.
enum Candidate {
    /// The universal vocoder through the mel map.
    Mapped,
    /// The universal vocoder on its own mel of the recording.
    OwnMel,
    /// The model's vocoder.
    Small,
    /// Griffin-Lim.
    GriffinLim(GriffinLimConfig),
}

impl Candidate {
    fn name(&self) -> String {
        match self {
            Self::Mapped => "(a) universal HiFi-GAN, mapped mel".into(),
            Self::OwnMel => "(a') universal HiFi-GAN, its own mel (bound)".into(),
            Self::Small => "(b) model's small HiFi-GAN".into(),
            Self::GriffinLim(c) => {
                let init = match c.init {
                    PhaseInit::Zero => "zero phase".to_string(),
                    PhaseInit::Random { .. } => "random phase".to_string(),
                    PhaseInit::Advance => "phase advance".to_string(),
                };
                format!(
                    "(c) Griffin-Lim {} it, momentum {}, {init}",
                    c.n_iter, c.momentum
                )
            }
        }
    }
}

/// The networks and front ends the candidates need.
struct Stages {
    mel: MelExtractor,
    own_mel: MelExtractor,
    small: HifiGan,
    universal: PretrainedVocoder,
}

impl Stages {
    /// One segment's waveform (16 kHz, `samples` long) from the recording `wave` and its
    /// log-mel `m`.
    fn vocode(
        &self,
        c: &Candidate,
        wave: &[f32],
        m: &MelSpectrogram,
        device: &Device,
    ) -> Result<Vec<f32>> {
        let samples = wave.len();
        let rate = self.mel.config().sample_rate;
        let mut out = match c {
            Candidate::Mapped => self.universal.vocode(&[m], device)?.remove(0),
            Candidate::OwnMel => {
                let own_rate = self.universal.sample_rate();
                let mut up = resample(wave, rate, own_rate)?;
                sanitize_wav(&mut up);
                let own = self.own_mel.log_mel(&up)?;
                let voiced = self.universal.vocode_own(&[&own], device)?.remove(0);
                resample(&voiced, own_rate, rate)?
            }
            Candidate::Small => {
                let input = Tensor::<3>::from_data(
                    TensorData::new(m.data.clone(), [1, m.n_frames, m.n_mels]),
                    device,
                );
                self.small
                    .forward(input)
                    .into_data()
                    .try_into_vec::<f32>()
                    .map_err(|e| Error::invalid(format!("cannot read the waveform: {e:?}")))?
            }
            Candidate::GriffinLim(cfg) => log_mel_to_audio(&self.mel, m, cfg)?,
        };
        out.resize(samples, 0.0);
        Ok(out)
    }
}

fn resample(wave: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    Ok(crate::media::resample(&AudioBuffer::new(from, 1, wave.to_vec()), to, 1)?.samples)
}

/// Score every candidate on `count` fixed validation segments of `set` (the segments of
/// [`super::vocoder::validate_vocoder`]); the model's vocoder comes from `model_dir/vocoder`,
/// the universal one from the bundled assets.
pub fn compare_vocoders(
    model_dir: &Path,
    set: &SoundSet,
    count: usize,
    device: &Device,
) -> Result<VocoderComparison> {
    let dir = model_dir.join("vocoder");
    let cfg = VocoderConfig::from_file(&dir.join("config.json"))?;
    let w = Weights::from_files(&[dir.join("model.safetensors")], device)?;
    let mel = MelExtractor::audioldm()?;
    let universal = PretrainedVocoder::from_dir(
        &assets_dir().join("models").join(BUNDLED),
        *mel.config(),
        device,
    )?;
    let stages = Stages {
        own_mel: MelExtractor::new(*universal.map().to_config())?,
        small: HifiGan::load(&cfg, &w)?,
        universal,
        mel,
    };
    let aisfx = load_aisfx(device).map_err(Error::invalid)?;
    let stfts = RESOLUTIONS
        .iter()
        .map(|&n| Stft::new(StftConfig::new(n, n / 4)))
        .collect::<Result<Vec<_>>>()?;

    let hop = stages.mel.config().hop_length;
    let samples = FRAMES * hop;
    let pool = validation_pool(set)?;
    let mut rng = NoiseRng::new(0xE7A2);
    let mut recordings = Vec::with_capacity(count);
    for c in random_crops(set, &pool, count, samples, &mut rng) {
        let mut wave = tango_waveform(&c, samples)?;
        sanitize_wav(&mut wave);
        if wave.iter().any(|&x| x != 0.0) {
            let m = stages.mel.tango_fbank(&wave, FRAMES)?;
            recordings.push((wave, m));
        }
    }
    if recordings.is_empty() {
        return Err(Error::invalid(
            "every validation segment is silent: nothing to compare",
        ));
    }
    let rate = stages.mel.config().sample_rate;
    let as_audio = |w: &[f32]| AudioBuffer::new(rate, 1, w.to_vec());
    let real_audio: Vec<AudioBuffer> = recordings.iter().map(|(w, _)| as_audio(w)).collect();
    let real_embeddings = aisfx.clip_embeddings_audio(&real_audio.iter().collect::<Vec<_>>())?;
    let real_spectra = recordings
        .iter()
        .map(|(w, _)| stfts.iter().map(|s| s.magnitude(w)).collect())
        .collect::<Result<Vec<Vec<_>>>>()?;

    let mut candidates = vec![Candidate::Mapped, Candidate::OwnMel, Candidate::Small];
    for (n_iter, momentum, init) in [
        (32, 0.99, PhaseInit::Random { seed: 0 }),
        (64, 0.99, PhaseInit::Random { seed: 0 }),
        (100, 0.99, PhaseInit::Random { seed: 0 }),
        (32, 0.0, PhaseInit::Random { seed: 0 }),
        (32, 0.99, PhaseInit::Zero),
        (32, 0.99, PhaseInit::Advance),
        (100, 0.99, PhaseInit::Advance),
    ] {
        candidates.push(Candidate::GriffinLim(GriffinLimConfig {
            n_iter,
            momentum,
            init,
            ..GriffinLimConfig::default()
        }));
    }

    let n = recordings.len() as f64;
    let audio_seconds = n * samples as f64 / rate as f64;
    let mut scores = Vec::with_capacity(candidates.len());
    for candidate in &candidates {
        let started = Instant::now();
        let outputs = recordings
            .iter()
            .map(|(wave, m)| stages.vocode(candidate, wave, m, device))
            .collect::<Result<Vec<_>>>()?;
        let seconds = started.elapsed().as_secs_f64();
        let (mut mel_l1, mut sc, mut log_mag) = (0.0, 0.0, 0.0);
        let mut voiced = Vec::with_capacity(outputs.len());
        for (mut out, ((_, m), real)) in outputs
            .into_iter()
            .zip(recordings.iter().zip(&real_spectra))
        {
            sanitize_wav(&mut out);
            let out = tango_waveform(&out, samples)?;
            mel_l1 += l1(&stages.mel.tango_fbank(&out, FRAMES)?.data, &m.data);
            for (stft, reference) in stfts.iter().zip(real) {
                let estimate = stft.magnitude(&out)?;
                sc += spectral_convergence(reference, &estimate)? / RESOLUTIONS.len() as f64;
                log_mag +=
                    log_magnitude_l1(&reference.data, &estimate.data) / RESOLUTIONS.len() as f64;
            }
            voiced.push(as_audio(&out));
        }
        let embeddings = aisfx.clip_embeddings_audio(&voiced.iter().collect::<Vec<_>>())?;
        let distance = embeddings
            .iter()
            .zip(&real_embeddings)
            .map(|(a, b)| cosine_distance(a, b))
            .sum::<f64>();
        scores.push(VocoderScore {
            name: candidate.name(),
            mel_l1: mel_l1 / n,
            spectral_convergence: sc / n,
            log_magnitude_l1: log_mag / n,
            aisfx_distance: distance / n,
            seconds_per_second: seconds / audio_seconds,
        });
    }
    Ok(VocoderComparison {
        segments: recordings.len(),
        segment_seconds: samples as f64 / rate as f64,
        candidates: scores,
    })
}

fn l1(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum::<f64>()
        / a.len().max(1) as f64
}

/// Mean `|ln max(a, floor) - ln max(b, floor)|`.
fn log_magnitude_l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.max(FLOOR).ln() - y.max(FLOOR).ln()).abs())
        .sum::<f64>()
        / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_are_zero_for_identical_signals() {
        assert_eq!(log_magnitude_l1(&[1.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((log_magnitude_l1(&[1.0], &[std::f64::consts::E]) - 1.0).abs() < 1e-12);
        assert!(cosine_distance(&[1.0, 2.0], &[2.0, 4.0]).abs() < 1e-12);
        assert!((cosine_distance(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine_distance(&[0.0], &[1.0]), 1.0);
        let table = VocoderComparison {
            segments: 2,
            segment_seconds: 1.28,
            candidates: vec![VocoderScore {
                name: "x".into(),
                mel_l1: 1.0,
                spectral_convergence: 0.5,
                log_magnitude_l1: 0.25,
                aisfx_distance: 0.1,
                seconds_per_second: 2.0,
            }],
        }
        .table();
        assert!(table.contains("| x | 1.0000 | 0.7500 | 0.5000 | 0.2500 | 0.1000 | 2.000 |"));
    }
}
