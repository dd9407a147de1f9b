//! Layer normalisation over the last dimension with its affine transform, in two passes
//! over each row (the statistics, then normalise, scale and shift), where burn's composition
//! makes eight passes and as many buffers.

use rayon::prelude::*;

use super::group_norm::moments;

/// Values per parallel task.
const CHUNK: usize = 1 << 14;

/// `x` normalised over rows of `weight.len()` values with PyTorch's semantics (biased
/// variance, `eps` inside the root), each feature scaled by `weight` and shifted by `bias`.
pub fn layer_norm(x: &[f32], eps: f64, (weight, bias): (&[f32], &[f32])) -> Vec<f32> {
    let dim = weight.len();
    let mut out = vec![0f32; x.len()];
    if dim == 0 {
        return out;
    }
    let rows_per_task = (CHUNK / dim).max(1) * dim;
    out.par_chunks_mut(rows_per_task)
        .zip(x.par_chunks(rows_per_task))
        .for_each(|(out, x)| {
            for (to, row) in out.chunks_exact_mut(dim).zip(x.chunks_exact(dim)) {
                let (hi, lo, rstd) = moments(row, eps);
                let rstd = rstd as f32;
                for (((o, v), g), b) in to.iter_mut().zip(row).zip(weight).zip(bias) {
                    *o = ((v - hi) - lo) * rstd * g + b;
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_layer_computed_in_f64() {
        let dim = 48;
        let x: Vec<f32> = (0..dim * 5)
            .map(|i| 100.0 + ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect();
        let weight: Vec<f32> = (0..dim).map(|i| 0.5 + i as f32 / 40.0).collect();
        let bias: Vec<f32> = (0..dim).map(|i| i as f32 / 10.0 - 1.0).collect();
        let got = layer_norm(&x, 1e-5, (&weight, &bias));
        for (row, out) in x.chunks(dim).zip(got.chunks(dim)) {
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / dim as f64;
            let var = row
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / dim as f64;
            for (i, (&v, &o)) in row.iter().zip(out).enumerate() {
                let want = (f64::from(v) - mean) / (var + 1e-5).sqrt() * f64::from(weight[i])
                    + f64::from(bias[i]);
                assert!((f64::from(o) - want).abs() < 2e-5, "{o} against {want}");
            }
        }
    }
}
