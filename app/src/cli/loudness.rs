//! `avsync loudness AUDIO [--normalize -23 --out OUT.wav]`: EBU R128 measurement, and
//! normalisation to a target with a true-peak ceiling into a new file.

use std::path::PathBuf;

use anyhow::{Result, bail};
use avsync_engine::dsp::loudness;
use avsync_engine::media::{self, DecodeOptions, WavFormat, WavSpec};
use clap::Args;

#[derive(Debug, Args)]
pub struct LoudnessArgs {
    /// Any audio file (or a video with an audio track).
    audio: PathBuf,
    /// Normalise to this integrated loudness in LUFS (e.g. -23 broadcast, -14 web).
    #[arg(long, allow_hyphen_values = true)]
    normalize: Option<f64>,
    /// True-peak ceiling in dBTP when normalising.
    #[arg(long, default_value_t = -1.0, allow_hyphen_values = true)]
    ceiling: f64,
    /// Output WAV (24-bit) for --normalize.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: &LoudnessArgs) -> Result<()> {
    let audio = media::decode_audio(&a.audio, &DecodeOptions::default())?;
    match (a.normalize, &a.out) {
        (None, None) => {
            let m = loudness::measure(&audio)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        (Some(target), Some(out)) => {
            media::output::ensure_not_source(out, &[&a.audio])?;
            let mut audio = audio;
            let report = loudness::normalize(&mut audio, target, a.ceiling)?;
            media::write_wav(
                out,
                &audio,
                &WavSpec {
                    format: WavFormat::Pcm24,
                    bext: None,
                },
            )?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.ceiling_limited {
                eprintln!("note: the true-peak ceiling kept the result below {target} LUFS");
            }
        }
        _ => bail!("--normalize and --out go together"),
    }
    Ok(())
}
