//! `avsync tone --out tone.wav`: a line-up tone, or a sync pop (a one-frame beep).

use std::f64::consts::TAU;
use std::path::PathBuf;

use anyhow::{Result, bail};
use avsync_engine::AudioBuffer;
use avsync_engine::media::{WavFormat, WavSpec, write_wav};
use clap::Args;

#[derive(Debug, Args)]
pub struct ToneArgs {
    /// Output WAV file.
    #[arg(long)]
    out: PathBuf,
    /// Frequency in Hz.
    #[arg(long, default_value_t = 1000.0)]
    freq: f64,
    /// Peak level in dBFS.
    #[arg(long, default_value_t = -20.0, allow_hyphen_values = true)]
    level: f64,
    /// Duration in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000)]
    rate: u32,
    /// Instead of a steady tone, one-frame pops at this frame rate, once per second.
    #[arg(long)]
    pops_fps: Option<f64>,
}

pub fn run(a: &ToneArgs) -> Result<()> {
    if !(a.freq > 0.0 && a.freq < f64::from(a.rate) / 2.0) {
        bail!("--freq must be between 0 and half the sample rate");
    }
    if !(a.duration > 0.0 && a.duration <= 3600.0) {
        bail!("--duration must be in (0, 3600] s");
    }
    if !(a.level <= 0.0) || a.rate < 8000 {
        bail!("--level must be <= 0 dBFS and --rate >= 8000 Hz");
    }
    let amp = 10f64.powf(a.level / 20.0);
    let n = (a.duration * f64::from(a.rate)).round() as usize;
    let pop_len = a
        .pops_fps
        .map(|fps| (f64::from(a.rate) / fps).round() as usize);
    let samples = (0..n)
        .map(|i| {
            let on = match pop_len {
                Some(len) => i % (a.rate as usize) < len,
                None => true,
            };
            if on {
                (amp * (TAU * a.freq * i as f64 / f64::from(a.rate)).sin()) as f32
            } else {
                0.0
            }
        })
        .collect();
    let audio = AudioBuffer::new(a.rate, 1, samples);
    write_wav(
        &a.out,
        &audio,
        &WavSpec {
            format: WavFormat::Pcm24,
            bext: None,
        },
    )?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
