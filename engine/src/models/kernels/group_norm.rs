//! Group normalisation with the per-channel affine transform and, optionally, the SiLU that
//! follows it in every ResNet block, in two passes over the data: the statistics of each
//! group, then `silu(x * scale + shift)` into the output. burn's composition of the same
//! layer makes nine passes and as many buffers. The input is read where it lies: it is
//! usually also the block's residual, so normalising in place would first copy it.

use rayon::prelude::*;

use super::activation::silu_slice;

/// `values` (`[B, C, H, W]`, contiguous) normalised over `groups` groups of channels with
/// PyTorch's semantics (biased variance, `eps` inside the root), each channel scaled and
/// shifted by `weight` and `bias`, then SiLU applied when `silu`.
pub fn group_norm(
    values: &[f32],
    [b, c, h, w]: [usize; 4],
    groups: usize,
    eps: f64,
    (weight, bias): (&[f32], &[f32]),
    silu: bool,
) -> Vec<f32> {
    let plane = h * w;
    let per_group = c / groups;
    let group_len = per_group * plane;
    debug_assert_eq!(values.len(), b * c * plane);
    let mut out = vec![0f32; values.len()];
    out.par_chunks_mut(group_len.max(1))
        .zip(values.par_chunks(group_len.max(1)))
        .enumerate()
        .for_each(|(i, (out, group))| {
            let first = (i % groups) * per_group;
            let (hi, lo, rstd) = moments(group, eps);
            let channels = out.chunks_exact_mut(plane.max(1));
            for (k, (to, from)) in channels.zip(group.chunks_exact(plane.max(1))).enumerate() {
                let scale = (rstd * f64::from(weight[first + k])) as f32;
                let shift = bias[first + k];
                for (o, v) in to.iter_mut().zip(from) {
                    *o = ((v - hi) - lo) * scale + shift;
                }
                if silu {
                    silu_slice(to);
                }
            }
        });
    out
}

/// The mean of `values` as two f32s `(hi, lo)` and `1 / sqrt(var + eps)` (biased
/// variance), in two passes: the mean, then the variance about it. The mean is summed about
/// the first value, so the f32 lanes add small numbers, and kept as two f32s so that
/// `(v - hi) - lo` centres exactly enough even where the mean is far larger than the spread
/// (the folded `v * scale + shift` would cancel).
pub(super) fn moments(values: &[f32], eps: f64) -> (f32, f32, f64) {
    let n = values.len() as f64;
    let pivot = values.first().copied().unwrap_or(0.0);
    let mean = f64::from(pivot) + sum(values, |v| v - pivot) / n;
    let hi = mean as f32;
    let lo = (mean - f64::from(hi)) as f32;
    let var = sum(values, |v| {
        let d = (v - hi) - lo;
        d * d
    }) / n;
    (hi, lo, 1.0 / (var + eps).sqrt())
}

/// `sum f(v)` over `values`: eight f32 lanes within blocks of 1024 values (which the compiler
/// vectorises), the blocks added in f64, so long groups keep f64-like accuracy.
fn sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    const LANES: usize = 8;
    values
        .chunks(1024)
        .map(|block| {
            let mut acc = [0f32; LANES];
            let mut lanes = block.chunks_exact(LANES);
            for chunk in lanes.by_ref() {
                for (a, v) in acc.iter_mut().zip(chunk) {
                    *a += f(*v);
                }
            }
            let tail: f32 = lanes.remainder().iter().map(|v| f(*v)).sum();
            f64::from(acc.iter().sum::<f32>() + tail)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer computed naively in f64.
    fn reference(
        x: &[f32],
        [_, c, h, w]: [usize; 4],
        groups: usize,
        gamma: &[f32],
        beta: &[f32],
    ) -> Vec<f32> {
        let plane = h * w;
        let len = c / groups * plane;
        let mut out = vec![0f32; x.len()];
        for (i, group) in x.chunks(len).enumerate() {
            let n = len as f64;
            let mean = group.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
            let var = group
                .iter()
                .map(|v| (f64::from(*v) - mean).powi(2))
                .sum::<f64>()
                / n;
            for (j, v) in group.iter().enumerate() {
                let ch = (i % groups) * (c / groups) + j / plane;
                let y = (f64::from(*v) - mean) / (var + 1e-6).sqrt() * f64::from(gamma[ch])
                    + f64::from(beta[ch]);
                out[i * len + j] = (y / (1.0 + (-y).exp())) as f32;
            }
        }
        out
    }

    #[test]
    fn matches_the_layer_computed_naively() {
        let dims = [2, 12, 7, 33];
        let n: usize = dims.iter().product();
        // Values far from zero with a small spread: where a one-pass variance would fail.
        let x: Vec<f32> = (0..n)
            .map(|i| 100.0 + ((i * 7919) % 1000) as f32 * 1e-3)
            .collect();
        let gamma: Vec<f32> = (0..12).map(|i| 0.5 + i as f32 * 0.1).collect();
        let beta: Vec<f32> = (0..12).map(|i| i as f32 * 0.05 - 0.3).collect();
        let want = reference(&x, dims, 4, &gamma, &beta);
        let got = group_norm(&x, dims, 4, 1e-6, (&gamma, &beta), true);
        for (g, r) in got.iter().zip(&want) {
            assert!((g - r).abs() <= 2e-5 * r.abs().max(1.0), "{g} against {r}");
        }
    }
}
