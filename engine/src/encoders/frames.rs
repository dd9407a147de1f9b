//! Frame features for the model (paper eq. 2): `N` frames spaced uniformly over the clip
//! window, decoded in one pass by the media layer at the picture's own size (so CLIP's
//! preprocessing sees what it would see in the reference), and encoded in batches.

use burn::tensor::Tensor;

use super::clip::ClipImageEncoder;
use super::clip_preprocess::RgbImage;
use crate::error::{Error, Result};
use crate::media::{VideoReader, uniform_times};

/// CLIP embeddings `[N, E]` of `n` frames uniformly over `[start_s, end_s)` of `reader`'s clip,
/// at most `batch` images per forward pass. `display` is the picture's display size.
pub fn clip_frame_features(
    reader: &mut VideoReader,
    encoder: &ClipImageEncoder,
    (start_s, end_s): (f64, f64),
    n: usize,
    display: (u32, u32),
    batch: usize,
) -> Result<Tensor<2>> {
    if n == 0 {
        return Err(Error::invalid(
            "a frame window needs at least one frame (0 requested)",
        ));
    }
    if !(end_s > start_s) || start_s < 0.0 {
        return Err(Error::invalid(format!(
            "empty or negative frame window {start_s}-{end_s} s"
        )));
    }
    let frames = reader.frames_at(&uniform_times(start_s, end_s, n), display.0, display.1)?;
    let mut parts = Vec::with_capacity(n.div_ceil(batch.max(1)));
    for chunk in frames.chunks(batch.max(1)) {
        let images = chunk
            .iter()
            .map(|f| RgbImage::new(f.width as usize, f.height as usize, &f.data))
            .collect::<Result<Vec<_>>>()?;
        parts.push(encoder.encode(&images)?);
    }
    Ok(Tensor::cat(parts, 0))
}
