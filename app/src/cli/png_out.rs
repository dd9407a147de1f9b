//! Writing RGB images as PNG, atomically.

use std::path::Path;

use anyhow::{Context, Result};
use avsync_engine::media::output::write_atomic;

/// Write packed RGB24 pixels as a PNG file.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(rgb)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
