//! `avsync loop AUDIO --seconds S --out OUT.wav`: a seamless loop of a chosen length from an
//! ambience, room tone or generated bed (shorter sounds are extended first), every channel
//! cut at the same samples, with the seam measured against the loop's own changes.

use std::path::PathBuf;

use anyhow::{Result, bail};
use avsync_engine::AudioBuffer;
use avsync_engine::dsp::looping::{make_loop, seam};
use avsync_engine::media::{self, DecodeOptions, WavFormat, WavSpec};
use clap::Args;

#[derive(Debug, Args)]
pub struct LoopArgs {
    /// The sound to loop (any audio file, or a video's audio track).
    audio: PathBuf,
    /// Length of the loop in seconds.
    #[arg(long)]
    seconds: f64,
    /// Crossfade at the seam in seconds.
    #[arg(long, default_value_t = 0.5)]
    crossfade: f64,
    /// Output WAV (24-bit, the source's rate and channels).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: &LoopArgs) -> Result<()> {
    if !(a.seconds.is_finite() && a.seconds > 0.0 && a.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {}", a.seconds);
    }
    if !(a.crossfade.is_finite() && a.crossfade > 0.0 && a.crossfade <= a.seconds / 2.0) {
        bail!(
            "--crossfade must be positive and at most half the loop, got {}",
            a.crossfade
        );
    }
    media::output::ensure_not_source(&a.out, &[&a.audio])?;
    let audio = media::decode_audio(&a.audio, &DecodeOptions::default())?;
    let rate = f64::from(audio.sample_rate);
    let (len, fade) = (
        (a.seconds * rate).round() as usize,
        ((a.crossfade * rate).round() as usize).max(1),
    );
    let channels = usize::from(audio.channels);
    let mut looped: Vec<Vec<f32>> = Vec::with_capacity(channels);
    for c in 0..channels {
        let channel: Vec<f32> = audio
            .samples
            .iter()
            .skip(c)
            .step_by(channels)
            .copied()
            .collect();
        looped.push(
            make_loop(&channel, len, fade)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.audio.display()))?,
        );
    }
    let mut samples = Vec::with_capacity(len * channels);
    for i in 0..len {
        samples.extend(looped.iter().map(|ch| ch[i]));
    }
    let mono: Vec<f32> = (0..len)
        .map(|i| looped.iter().map(|ch| ch[i]).sum::<f32>() / channels as f32)
        .collect();
    let out = AudioBuffer::new(audio.sample_rate, audio.channels, samples);
    media::write_wav(
        &a.out,
        &out,
        &WavSpec {
            format: WavFormat::Pcm24,
            bext: None,
        },
    )?;
    let s = seam(&mono, audio.sample_rate)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "out": a.out,
            "seconds": len as f64 / rate,
            "seam": s,
            "seam_inaudible": s.inaudible(),
        }))?
    );
    Ok(())
}
