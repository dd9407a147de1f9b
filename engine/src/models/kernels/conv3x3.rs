//! Direct 3x3 convolution (stride 1, padding 1) as three matrix products over shifted copies
//! of the input.
//!
//! burn-flex convolves through im2col: each 3x3 convolution copies its input, transposed to
//! channels-last, into a patch matrix nine times its size and scatters the product back,
//! which at the VAE's and the U-Net's outer widths (16-128 channels over thousands of
//! positions) costs more than the product itself. Here each image is copied three times,
//! shifted by one column left, not at all, and right (zeros where the shift runs off the
//! row), each with a zero row above and below. On those copies the taps `(dy, 0..3)` of
//! every output position are the same `3 C_in` rows shifted by `dy` rows, so a kernel row
//! `dy` is one matrix product with a depth of `3 C_in` that reads the copies where they lie,
//! `out[:, tile] += W_dy x shifted[:, tile + dy W]`, written straight into the output's
//! channel planes. Nothing is computed and dropped (a zero-padded grid would compute its two
//! border columns, a third of the work at the U-Net's innermost 4 columns), and the depth of
//! `3 C_in` keeps narrow convolutions (16-64 channels) efficient in the matrix kernel.

use rayon::prelude::*;

use super::{SharedOut, add_bias, product};

/// Floats of output and input per tile (256 KB), so a tile's operands stay in cache.
const TILE_FLOATS: usize = 1 << 16;
/// Fewest output positions per tile, so each product stays wide enough to be efficient.
const MIN_TILE: usize = 256;

/// Convolve `x` (`[B, C_in, H, W]`, contiguous) with `weight` (`[C_out, C_in, 3, 3]`) and
/// add `bias` (`[C_out]`): PyTorch's `conv2d(x, weight, bias, stride=1, padding=1)`.
pub fn conv3x3(
    x: &[f32],
    [b, c_in, h, w]: [usize; 4],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let c_out = weight.len() / (c_in * 9);
    debug_assert_eq!(weight.len(), c_out * c_in * 9);
    debug_assert_eq!(x.len(), b * c_in * h * w);
    let len = b * c_out * h * w;
    if len == 0 || c_in == 0 {
        return vec![0f32; len];
    }
    // Not zeroed: the first kernel row's products overwrite every value.
    let mut out = Vec::<f32>::with_capacity(len);
    let depth = 3 * c_in;
    let plane = (h + 2) * w;
    let taps = kernel_rows(weight, c_in, c_out);
    let rows = (TILE_FLOATS / (c_out + depth))
        .max(MIN_TILE)
        .div_ceil(w)
        .clamp(1, h);
    let tiles = h.div_ceil(rows);
    let dst = SharedOut(out.as_mut_ptr());
    let shifted = shift_columns(x, [b, c_in, h, w]);
    (0..b * tiles).into_par_iter().for_each(|t| {
        let (image, tile) = (t / tiles, t % tiles);
        let y0 = tile * rows;
        let len = ((y0 + rows).min(h) - y0) * w;
        let source = &shifted[image * depth * plane..][..depth * plane];
        let first = dst.at(image * c_out * h * w + y0 * w);
        for (dy, tap) in taps.chunks_exact(c_out * depth).enumerate() {
            let from = (y0 + dy) * w;
            debug_assert!(from + len + (depth - 1) * plane <= source.len());
            // SAFETY: the tile writes `len` values from `first` in each of the C_out
            // planes of `image` (H W apart), which no other tile touches; `tap` is
            // C_out x 3 C_in; the input rows start `plane` apart at `from` and hold
            // `len` values each, inside `source` (asserted above).
            unsafe {
                product(
                    [c_out, len, depth],
                    (first, h * w),
                    dy > 0,
                    (tap.as_ptr(), depth),
                    (source.as_ptr().add(from), plane),
                );
            }
        }
        if let Some(bias) = bias {
            // SAFETY: as above, the tile's own values, written by its products.
            unsafe { add_bias(first, h * w, len, bias) };
        }
    });
    // SAFETY: every tile's first product (`dy = 0`, not reading `dst`) wrote all its values.
    unsafe { out.set_len(len) };
    out
}

/// The kernel rows as matrices: row `dy` is `[C_out, 3 C_in]` with column `dx C_in + i`
/// holding `weight[o, i, dy, dx]`.
fn kernel_rows(weight: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let depth = 3 * c_in;
    let mut taps = vec![0f32; 3 * c_out * depth];
    taps.par_chunks_mut(depth)
        .enumerate()
        .for_each(|(row, to)| {
            let (dy, o) = (row / c_out, row % c_out);
            let filters = &weight[o * c_in * 9..][..c_in * 9];
            for (i, filter) in filters.chunks_exact(9).enumerate() {
                for dx in 0..3 {
                    to[dx * c_in + i] = filter[dy * 3 + dx];
                }
            }
        });
    taps
}

/// Per image, `[3, C_in, H + 2, W]`: plane `(dx, i)` is channel `i` read `dx - 1` columns
/// to the right, with zeros off the row's ends and a zero row above and below.
fn shift_columns(x: &[f32], [b, c, h, w]: [usize; 4]) -> Vec<f32> {
    let plane = (h + 2) * w;
    let mut shifted = vec![0f32; b * 3 * c * plane];
    shifted
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(j, to)| {
            let (image, dx, i) = (j / (3 * c), j / c % 3, j % c);
            let from = &x[(image * c + i) * h * w..][..h * w];
            for (dst, src) in to[w..].chunks_exact_mut(w).zip(from.chunks_exact(w)) {
                match dx {
                    0 => dst[1..].copy_from_slice(&src[..w - 1]),
                    1 => dst.copy_from_slice(src),
                    _ => dst[..w - 1].copy_from_slice(&src[1..]),
                }
            }
        });
    shifted
}

#[cfg(test)]
mod tests {
    use super::super::against_burns_conv2d;
    use super::*;

    fn check(dims: [usize; 4], c_out: usize) {
        let [b, _, h, w] = dims;
        let (got, want) = against_burns_conv2d(conv3x3, dims, c_out, 3, 0.2);
        assert_eq!(got.len(), b * c_out * h * w);
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - r).abs() <= 1e-5 * scale,
                "{dims:?} at {i}: {g} against {r}"
            );
        }
    }

    #[test]
    fn matches_burns_convolution() {
        check([2, 3, 5, 7], 4);
        check([1, 16, 40, 9], 8);
        check([3, 8, 1, 1], 5);
        check([1, 1, 300, 3], 2);
        check([2, 32, 64, 16], 32);
    }
}
