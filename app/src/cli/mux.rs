//! `avsync mux VIDEO AUDIO --out OUT.mp4 [--offset-frames N] [--keep-original-audio]`

use std::path::PathBuf;

use anyhow::Result;
use avsync_engine::media::{self, DecodeOptions, MuxOptions};
use clap::Args;

/// Sample rates the AAC encoder and every player handle; others are converted to 48 kHz.
const COMMON_RATES: [u32; 6] = [16_000, 22_050, 24_000, 32_000, 44_100, 48_000];

#[derive(Debug, Args)]
pub struct MuxArgs {
    /// The video whose picture is kept.
    video: PathBuf,
    /// The soundtrack (any audio file).
    audio: PathBuf,
    /// Output file: .mp4/.m4v (AAC) or .mov/.mkv (24-bit PCM).
    #[arg(long)]
    out: PathBuf,
    /// Shift the audio by this many video frames (positive = later).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    offset_frames: i64,
    /// Keep the video's original audio as a second track.
    #[arg(long)]
    keep_original_audio: bool,
}

pub fn run(a: &MuxArgs) -> Result<()> {
    let bar = super::progress::spinner("muxing");
    let probe = media::probe(&a.audio)?;
    let stream = probe
        .audio
        .first()
        .ok_or_else(|| avsync_engine::Error::media(&a.audio, "has no audio stream"))?;
    let rate = if COMMON_RATES.contains(&stream.sample_rate) {
        stream.sample_rate
    } else {
        48_000
    };
    let audio = media::decode_audio(
        &a.audio,
        &DecodeOptions::to(rate, stream.channels.clamp(1, 2)),
    )?;
    let report = media::mux_audio(
        &a.video,
        &audio,
        &a.out,
        &MuxOptions {
            offset_frames: a.offset_frames,
            keep_original_audio: a.keep_original_audio,
        },
    )?;
    bar.finish_and_clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
