//! Direct 3x3 convolution (stride 1, padding 1) as nine shifted matrix products.
//!
//! burn-flex convolves through im2col: each 3x3 convolution copies its input, transposed to
//! channels-last, into a patch matrix nine times its size and scatters the product back,
//! which at the VAE's and the U-Net's outer widths (16-128 channels over thousands of
//! positions) costs more than the product itself. Here each image is zero-padded once and
//! kept as rows of `W + 2`: on that grid the tap `(dy, dx)` of every output position is the
//! padded input shifted by `dy (W + 2) + dx` values, so a tap is one matrix product that
//! reads the padded planes where they lie, `out[:, tile] += W_tap x_pad[:, tile + shift]`,
//! accumulated in a tile of outputs that stays in cache. The two padding columns of each
//! output row are computed and dropped (2 / (W + 2) extra work).

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::SharedOut;

/// Output positions per tile, times the output channels (a tile of 64 K floats, 256 KB).
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
    let wp = w + 2;
    // The padded plane, with two more values for the last row's rightmost taps.
    let plane = (h + 2) * wp + 2;
    let padded = pad(x, [b, c_in, h, w], plane);
    // taps[k] = weight[:, :, dy, dx] as a row-major [C_out, C_in] matrix, k = 3 dy + dx.
    let mut taps = vec![0f32; 9 * c_out * c_in];
    for (o, filters) in weight.chunks_exact(c_in * 9).enumerate() {
        for (i, filter) in filters.chunks_exact(9).enumerate() {
            for (k, v) in filter.iter().enumerate() {
                taps[(k * c_out + o) * c_in + i] = *v;
            }
        }
    }
    let rows = (TILE_FLOATS / c_out.max(1))
        .max(MIN_TILE)
        .div_ceil(wp)
        .clamp(1, h.max(1));
    let tiles = h.div_ceil(rows);
    let mut out = vec![0f32; b * c_out * h * w];
    let dst = SharedOut(out.as_mut_ptr());
    (0..b * tiles).into_par_iter().for_each_init(
        || vec![0f32; c_out * rows * wp],
        |acc, t| {
            let (image, tile) = (t / tiles, t % tiles);
            let y0 = tile * rows;
            let y1 = (y0 + rows).min(h);
            let len = (y1 - y0) * wp;
            let source = &padded[image * c_in * plane..(image + 1) * c_in * plane];
            for (k, tap) in taps.chunks_exact(c_out * c_in).enumerate() {
                let shift = (k / 3) * wp + k % 3;
                let first = y0 * wp + shift;
                debug_assert!(first + len + (c_in - 1) * plane <= source.len());
                // SAFETY: `acc` holds C_out rows of `len` values; `tap` is C_out x C_in; the
                // input rows start `plane` apart at `first` and hold `len` values each,
                // inside `source` (asserted above).
                unsafe {
                    gemm(
                        c_out,
                        len,
                        c_in,
                        acc.as_mut_ptr(),
                        1,
                        len as isize,
                        k > 0,
                        tap.as_ptr(),
                        1,
                        c_in as isize,
                        source.as_ptr().add(first),
                        1,
                        plane as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
            // Drop the padding columns, add the bias, write the tile's rows of each channel.
            for o in 0..c_out {
                let add = bias.map_or(0.0, |b| b[o]);
                for y in y0..y1 {
                    let from = &acc[o * len + (y - y0) * wp..][..w];
                    // SAFETY: row `y` of channel `o` of `image` belongs to this tile only.
                    let to = unsafe {
                        std::slice::from_raw_parts_mut(dst.at(((image * c_out + o) * h + y) * w), w)
                    };
                    for (t, f) in to.iter_mut().zip(from) {
                        *t = f + add;
                    }
                }
            }
        },
    );
    out
}

/// Each plane of `x` inside a zero border of one, as rows of `W + 2` in planes of `plane`.
fn pad(x: &[f32], [b, c, h, w]: [usize; 4], plane: usize) -> Vec<f32> {
    let wp = w + 2;
    let mut padded = vec![0f32; b * c * plane];
    padded
        .par_chunks_mut(plane)
        .zip(x.par_chunks(h * w))
        .for_each(|(to, from)| {
            for (y, row) in from.chunks_exact(w).enumerate() {
                to[(y + 1) * wp + 1..][..w].copy_from_slice(row);
            }
        });
    padded
}

#[cfg(test)]
mod tests {
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Distribution, Tensor};

    use super::*;

    fn check(dims: [usize; 4], c_out: usize) {
        let device = Device::flex();
        let [b, c_in, h, w] = dims;
        let x = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
        let weight =
            Tensor::<4>::random([c_out, c_in, 3, 3], Distribution::Normal(0.0, 0.2), &device);
        let bias = Tensor::<1>::random([c_out], Distribution::Normal(0.0, 1.0), &device);
        let want = conv2d(
            x.clone(),
            weight.clone(),
            Some(bias.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        )
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
        let got = conv3x3(
            &x.into_data().try_into_vec::<f32>().unwrap(),
            dims,
            &weight.into_data().try_into_vec::<f32>().unwrap(),
            Some(&bias.into_data().try_into_vec::<f32>().unwrap()),
        );
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
