//! `avsync footage --photos DIR --out DIR`: clips with no sound events, filmed over real
//! photographs by still, panning, zooming and handheld cameras, with cuts, distant traffic,
//! crowds and changing light, for measuring false events.

use std::path::PathBuf;

use anyhow::{Result, bail};
use avsync_engine::eval::footage::write_footage;
use clap::Args;

#[derive(Debug, Args)]
pub struct FootageArgs {
    /// Folder of photographs (png, jpg), e.g. from `scripts/fetch_photos.sh`.
    #[arg(long)]
    photos: PathBuf,
    /// Folder to write the clips and `clips.csv` into.
    #[arg(long)]
    out: PathBuf,
    /// How many clips (they cycle through the eight scenes).
    #[arg(long, default_value_t = 24)]
    clips: usize,
    /// Seconds per clip.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Seed of the cameras, movers and noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: &FootageArgs) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 60.0) || a.clips == 0 {
        bail!("--clips must be positive and --seconds in (0, 60]");
    }
    let csv = write_footage(&a.photos, a.clips, a.seconds, a.seed, &a.out)?;
    println!("{}", csv.display());
    Ok(())
}
