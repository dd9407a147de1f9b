//! `avsync mel AUDIO --png OUT.png`: the log-mel spectrogram the model sees, as an image
//! with a time axis in seconds and a frequency axis in Hz on the mel scale.

use std::path::PathBuf;

use anyhow::{Context, Result};
use avsync_engine::dsp::mel::{hz_to_mel, mel_to_hz};
use avsync_engine::dsp::{MelConfig, MelExtractor, MelSpectrogram};
use avsync_engine::media::{self, DecodeOptions};
use clap::Args;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

/// Natural-log units shown below the loudest bin (9.2 nepers = 80 dB).
const DYNAMIC_RANGE: f32 = 9.2;
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

#[derive(Debug, Args)]
pub struct MelArgs {
    /// Any audio file (or a video with an audio track).
    audio: PathBuf,
    /// Output PNG.
    #[arg(long)]
    png: PathBuf,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 420)]
    height: u32,
}

pub fn run(a: &MelArgs) -> Result<()> {
    if !(200..=8000).contains(&a.width) || !(120..=4000).contains(&a.height) {
        anyhow::bail!("--width must be 200-8000 and --height 120-4000 pixels");
    }
    let extractor = MelExtractor::audioldm()?;
    let rate = extractor.config().sample_rate;
    let mut audio = media::decode_audio(&a.audio, &DecodeOptions::to(rate, 1))?;
    avsync_engine::dsp::mel::sanitize_wav(&mut audio.samples);
    let mel = extractor.log_mel(&audio.samples)?;
    let title = a
        .audio
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rgb = vec![0u8; a.width as usize * a.height as usize * 3];
    render(
        &mel,
        extractor.config(),
        &title,
        &mut rgb,
        (a.width, a.height),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .with_context(|| format!("cannot draw the spectrogram of {}", a.audio.display()))?;
    super::png_out::write_png(&a.png, a.width, a.height, &rgb)?;
    eprintln!("wrote {}", a.png.display());
    Ok(())
}

fn render(
    mel: &MelSpectrogram,
    config: &MelConfig,
    title: &str,
    rgb: &mut [u8],
    size: (u32, u32),
) -> Result<(), Box<dyn std::error::Error>> {
    // Registering twice is harmless; the font is static.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    root.fill(&WHITE)?;
    let duration = mel.n_frames as f64 * mel.hop_seconds;
    let n_mels = mel.n_mels;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("log-mel spectrogram: {title}"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..duration.max(mel.hop_seconds), 0f64..n_mels as f64)?;
    // Band m is centred at the (m + 1)-th of n_mels + 2 points spaced evenly in mel.
    let (mel_lo, mel_hi) = (hz_to_mel(config.fmin), hz_to_mel(config.fmax));
    let step = (mel_hi - mel_lo) / (n_mels + 1) as f64;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (s)")
        .y_desc("frequency (Hz)")
        .y_label_formatter(&|band| format!("{:.0}", mel_to_hz(mel_lo + (band + 0.5) * step)))
        .label_style(("sans-serif", 13))
        .draw()?;
    let hi = mel.data.iter().copied().fold(f32::MIN, f32::max);
    let lo = mel
        .data
        .iter()
        .copied()
        .fold(f32::MAX, f32::min)
        .max(hi - DYNAMIC_RANGE);
    let dt = mel.hop_seconds;
    chart.draw_series(mel.frames().enumerate().flat_map(|(t, frame)| {
        frame.iter().enumerate().map(move |(m, &v)| {
            let x = t as f64 * dt;
            let color = ViridisRGB.get_color_normalized(v.clamp(lo, hi), lo, hi.max(lo + 1e-6));
            Rectangle::new([(x, m as f64), (x + dt, m as f64 + 1.0)], color.filled())
        })
    }))?;
    root.present()?;
    Ok(())
}
