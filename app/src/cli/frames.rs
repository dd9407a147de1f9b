//! `avsync frames FILE --n 16 --size 224 --out DIR`

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use avsync_engine::media::{self, VideoReader, output::write_atomic, uniform_times};
use clap::Args;

#[derive(Debug, Args)]
pub struct FramesArgs {
    /// The video file.
    file: PathBuf,
    /// Number of frames.
    #[arg(long, default_value_t = 16)]
    n: usize,
    /// Output size in pixels (square); see --width/--height for other shapes.
    #[arg(long, default_value_t = 224)]
    size: u32,
    /// Output width (overrides --size).
    #[arg(long)]
    width: Option<u32>,
    /// Output height (overrides --size).
    #[arg(long)]
    height: Option<u32>,
    /// Start of the range in seconds.
    #[arg(long, default_value_t = 0.0)]
    start: f64,
    /// End of the range in seconds (default: end of the clip).
    #[arg(long)]
    end: Option<f64>,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: &FramesArgs) -> Result<()> {
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    let info = media::probe(&a.file)?;
    let video = info.require_video()?;
    let end = a.end.unwrap_or(video.duration_s);
    if !(a.start >= 0.0 && end > a.start && a.start < video.duration_s) {
        bail!(
            "{}: range {:.3}-{:.3} s is outside the clip (0-{:.3} s)",
            a.file.display(),
            a.start,
            end,
            video.duration_s
        );
    }
    let (w, h) = (a.width.unwrap_or(a.size), a.height.unwrap_or(a.size));
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let bar = super::progress::spinner(&format!("decoding {} frames", a.n));
    let mut reader = VideoReader::open(&a.file)?;
    let frames = reader.frames_at(&uniform_times(a.start, end, a.n), w, h)?;
    bar.set_message("writing PNG files");
    let mut index = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let name = format!("frame_{i:04}.png");
        super::png_out::write_png(&a.out.join(&name), f.width, f.height, &f.data)?;
        index.push(serde_json::json!({ "file": name, "pts_s": f.pts_s }));
    }
    let json = serde_json::to_vec_pretty(
        &serde_json::json!({ "source": a.file.to_string_lossy(), "frames": index }),
    )?;
    write_atomic(&a.out.join("frames.json"), |w| w.write_all(&json))?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} frames ({w}x{h}) to {}",
        frames.len(),
        a.out.display()
    );
    Ok(())
}
