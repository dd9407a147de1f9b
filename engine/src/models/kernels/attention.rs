//! Scaled dot-product attention that reads the heads where they lie.
//!
//! A head split from a projection's `[B, L, heads * d]` output is a strided view, and
//! burn-flex's attention first copies each operand to a contiguous `[B, heads, L, d]`, then
//! the caller copies the result back to `[B, L, heads * d]` for the output projection: four
//! transposing copies around two small products, on one thread. Here each task (one batch
//! item, one head, a block of queries) multiplies straight from the strided operands into a
//! block of scores that stays in cache, takes the softmax with the vectorised `exp`, and
//! writes its rows of the output already merged, `[B, Lq, heads, d_v]`.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::SharedOut;
use super::activation::exp;

/// Scores per task (64 KB), so a block of scores stays in cache between the two products.
const SCORE_FLOATS: usize = 1 << 14;
/// Fewest queries per task, so the products stay tall enough for the matrix kernel (over
/// long sequences the block of scores grows past `SCORE_FLOATS` instead).
const MIN_ROWS: usize = 32;

/// A `[B, heads, L, d]` operand read through its strides (element `[b, h, l, i]` at
/// `offset + b s0 + h s1 + l s2 + i s3`), with zero strides where it is broadcast.
#[derive(Debug, Clone, Copy)]
pub struct Heads<'a> {
    /// The storage the view reads.
    pub values: &'a [f32],
    /// `[B, heads, L, d]`.
    pub dims: [usize; 4],
    /// Stride of each dimension, in values.
    pub strides: [usize; 4],
    /// Where element `[0, 0, 0, 0]` is.
    pub offset: usize,
}

impl Heads<'_> {
    /// Position of `[b, h, l, 0]` in `values`.
    fn at(&self, b: usize, h: usize, l: usize) -> usize {
        self.offset + b * self.strides[0] + h * self.strides[1] + l * self.strides[2]
    }

    /// Whether every element lies inside `values`.
    fn in_bounds(&self) -> bool {
        let last: usize = (0..4)
            .map(|i| self.dims[i].saturating_sub(1) * self.strides[i])
            .sum();
        self.dims.contains(&0) || self.offset + last < self.values.len()
    }
}

/// `softmax(q k^T scale + bias) v` for every batch item and head, as `[B, Lq, heads, d_v]`
/// (contiguous, the layout the output projection reads). `k` and `v` are `[B, heads, Lk, _]`;
/// `bias`, when given, is `[B, heads, Lq, Lk]` (strides may be zero to broadcast).
pub fn attention(q: Heads, k: Heads, v: Heads, bias: Option<Heads>, scale: f32) -> Vec<f32> {
    let [batch, heads, lq, d] = q.dims;
    let (lk, dv) = (k.dims[2], v.dims[3]);
    assert!(q.in_bounds() && k.in_bounds() && v.in_bounds() && bias.is_none_or(|b| b.in_bounds()));
    assert_eq!([k.dims[0], k.dims[1], k.dims[3]], [batch, heads, d]);
    assert_eq!([v.dims[0], v.dims[1], v.dims[2]], [batch, heads, lk]);
    let mut out = vec![0f32; batch * lq * heads * dv];
    if out.is_empty() || lk == 0 {
        return out;
    }
    let rows = (SCORE_FLOATS / lk).max(MIN_ROWS).min(lq);
    let blocks = lq.div_ceil(rows);
    let dst = SharedOut(out.as_mut_ptr());
    (0..batch * heads * blocks).into_par_iter().for_each_init(
        || vec![0f32; rows * lk],
        |scores, task| {
            let (b, h) = (task / blocks / heads, task / blocks % heads);
            let q0 = task % blocks * rows;
            let m = rows.min(lq - q0);
            let scores = &mut scores[..m * lk];
            // SAFETY: the operands' elements lie inside their storage (asserted above); the
            // scores are m x Lk; the output rows `q0..q0 + m` of head `h` of item `b` (each
            // d_v values, heads * d_v apart) belong to this task only.
            unsafe {
                gemm(
                    m,
                    lk,
                    d,
                    scores.as_mut_ptr(),
                    1,
                    lk as isize,
                    false,
                    q.values.as_ptr().add(q.at(b, h, q0)),
                    q.strides[3] as isize,
                    q.strides[2] as isize,
                    k.values.as_ptr().add(k.at(b, h, 0)),
                    k.strides[2] as isize,
                    k.strides[3] as isize,
                    0.0,
                    scale,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            for (i, row) in scores.chunks_exact_mut(lk).enumerate() {
                if let Some(bias) = bias {
                    let from = bias.at(b, h, q0 + i);
                    for (j, s) in row.iter_mut().enumerate() {
                        *s += bias.values[from + j * bias.strides[3]];
                    }
                }
                softmax_in_place(row);
            }
            unsafe {
                gemm(
                    m,
                    dv,
                    lk,
                    dst.at(((b * lq + q0) * heads + h) * dv),
                    1,
                    (heads * dv) as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    lk as isize,
                    v.values.as_ptr().add(v.at(b, h, 0)),
                    v.strides[3] as isize,
                    v.strides[2] as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        },
    );
    out
}

/// Softmax of one row of scores, in place (the maximum subtracted first, so it cannot
/// overflow).
fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    row.iter_mut().for_each(|s| *s = exp(*s - max));
    // Eight partial sums, so the sum vectorises like the exponentials.
    let mut lanes = [0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        for (l, s) in lanes.iter_mut().zip(chunk) {
            *l += s;
        }
    }
    let sum = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|s| *s *= inv);
}

#[cfg(test)]
mod tests {
    use burn::tensor::module::attention as burn_attention;
    use burn::tensor::ops::AttentionModuleOptions;
    use burn::tensor::{Device, Distribution, Tensor};

    use super::*;

    fn contiguous(values: &[f32], dims: [usize; 4]) -> Heads<'_> {
        let [_, h, l, d] = dims;
        Heads {
            values,
            dims,
            strides: [h * l * d, l * d, d, 1],
            offset: 0,
        }
    }

    /// `[B, L, heads * d]` values seen as `[B, heads, L, d]`, as a split projection is.
    fn split(values: &[f32], [b, h, l, d]: [usize; 4]) -> Heads<'_> {
        Heads {
            values,
            dims: [b, h, l, d],
            strides: [l * h * d, d, h * d, 1],
            offset: 0,
        }
    }

    fn values<const D: usize>(x: &Tensor<D>) -> Vec<f32> {
        x.clone().into_data().try_into_vec::<f32>().unwrap()
    }

    fn check(b: usize, heads: usize, lq: usize, lk: usize, d: usize, with_bias: bool) {
        let device = Device::flex();
        let normal = Distribution::Normal(0.0, 1.0);
        let q = Tensor::<4>::random([b, lq, heads, d], normal, &device);
        let k = Tensor::<4>::random([b, lk, heads, d], normal, &device);
        let v = Tensor::<4>::random([b, heads, lk, d + 1], normal, &device);
        let bias = Tensor::<4>::random([b, 1, 1, lk], normal, &device);
        let want = burn_attention(
            q.clone().swap_dims(1, 2),
            k.clone().swap_dims(1, 2),
            v.clone(),
            None,
            with_bias.then(|| bias.clone().expand([b, heads, lq, lk])),
            AttentionModuleOptions::default(),
        )
        .swap_dims(1, 2);
        let want = values(&want);
        let (qv, kv, vv, bv) = (values(&q), values(&k), values(&v), values(&bias));
        let bias_view = Heads {
            values: &bv,
            dims: [b, heads, lq, lk],
            strides: [lk, 0, 0, 1],
            offset: 0,
        };
        let got = attention(
            split(&qv, [b, heads, lq, d]),
            split(&kv, [b, heads, lk, d]),
            contiguous(&vv, [b, heads, lk, d + 1]),
            with_bias.then_some(bias_view),
            1.0 / (d as f32).sqrt(),
        );
        assert_eq!(got.len(), want.len());
        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - r).abs() <= 1e-5 * (1.0 + r.abs()),
                "at {i}: {g} against {r}"
            );
        }
    }

    #[test]
    fn matches_burns_attention() {
        check(2, 3, 5, 7, 4, false);
        check(1, 2, 300, 300, 8, false);
        check(3, 1, 64, 16, 32, true);
        check(1, 4, 1, 1, 2, true);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row.windows(2).all(|w| w[0] < w[1]));
    }
}
