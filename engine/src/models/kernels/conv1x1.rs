//! 1x1 convolution (the ResNet shortcuts, the VAE's quantisation convolutions) as one matrix
//! product per image, `out = W x` over the channel planes where they lie. burn-flex routes it
//! through its im2col convolution, which copies the input to channels-last and back.

use rayon::prelude::*;

use super::{SharedOut, add_bias, product};

/// Floats of output and input per tile (256 KB), so a tile's operands stay in cache.
const TILE_FLOATS: usize = 1 << 16;
/// Fewest positions per tile, so each product stays wide enough to be efficient.
const MIN_TILE: usize = 256;

/// Convolve `x` (`[B, C_in, H, W]`, contiguous) with `weight` (`[C_out, C_in, 1, 1]`) and
/// add `bias` (`[C_out]`): PyTorch's `conv2d(x, weight, bias)` with a 1x1 kernel.
pub fn conv1x1(
    x: &[f32],
    [b, c_in, h, w]: [usize; 4],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let c_out = weight.len() / c_in.max(1);
    let plane = h * w;
    debug_assert_eq!(x.len(), b * c_in * plane);
    let total = b * c_out * plane;
    if total == 0 || c_in == 0 {
        return vec![0f32; total];
    }
    // Not zeroed: the products overwrite every value.
    let mut out = Vec::<f32>::with_capacity(total);
    let len = (TILE_FLOATS / (c_out + c_in)).max(MIN_TILE).min(plane);
    let tiles = plane.div_ceil(len);
    let dst = SharedOut(out.as_mut_ptr());
    (0..b * tiles).into_par_iter().for_each(|t| {
        let (image, p0) = (t / tiles, t % tiles * len);
        let n = len.min(plane - p0);
        let first = dst.at(image * c_out * plane + p0);
        // SAFETY: the tile writes `n` values from `first` in each of the C_out planes of
        // `image` (`plane` apart), which no other tile touches; it reads `n` values from `p0`
        // in each of the C_in planes of `image`, and the C_out x C_in weight.
        unsafe {
            product(
                [c_out, n, c_in],
                (first, plane),
                false,
                (weight.as_ptr(), c_in),
                (x.as_ptr().add(image * c_in * plane + p0), plane),
            );
        }
        if let Some(bias) = bias {
            // SAFETY: as above, the tile's own values, written by its products.
            unsafe { add_bias(first, plane, n, bias) };
        }
    });
    // SAFETY: the tiles cover every position of every image, and each product wrote its
    // tile's values in all C_out planes.
    unsafe { out.set_len(total) };
    out
}

#[cfg(test)]
mod tests {
    use super::super::against_burns_conv2d;
    use super::*;

    #[test]
    fn matches_burns_convolution() {
        for (dims, c_out) in [([2, 3, 5, 7], 4), ([1, 40, 30, 20], 24), ([3, 8, 1, 1], 5)] {
            let (got, want) = against_burns_conv2d(conv1x1, dims, c_out, 1, 0.3);
            for (g, r) in got.iter().zip(&want) {
                assert!(
                    (g - r).abs() <= 1e-5 * (1.0 + r.abs()),
                    "{dims:?}: {g} against {r}"
                );
            }
        }
    }
}
