//! Fréchet distance between two sets of embeddings (as FAD/FID compute it): fit a Gaussian
//! to each set and take `|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)`.
//! The matrix square roots come from symmetric eigendecompositions (cyclic Jacobi, f64),
//! which stay real and stable for the positive semi-definite covariances here, where the
//! general `sqrtm` of `S_a S_b` can return complex noise.

use crate::error::{Error, Result};

/// Mean and covariance (unbiased, `n - 1`) of `rows` (each the same width).
pub fn gaussian(rows: &[Vec<f32>]) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    if n < 2 || d == 0 {
        return Err(Error::invalid(format!(
            "a Fréchet distance needs at least 2 embeddings per set, got {n}"
        )));
    }
    if rows.iter().any(|r| r.len() != d) {
        return Err(Error::invalid("embeddings of different widths"));
    }
    let mut mean = vec![0f64; d];
    for r in rows {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += f64::from(v) / n as f64;
        }
    }
    let mut cov = vec![0f64; d * d];
    let mut centred = vec![0f64; d];
    for r in rows {
        for ((c, &v), m) in centred.iter_mut().zip(r).zip(&mean) {
            *c = f64::from(v) - m;
        }
        for i in 0..d {
            let ci = centred[i];
            for (j, cj) in centred.iter().enumerate().skip(i) {
                cov[i * d + j] += ci * cj;
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            let v = cov[i * d + j] / (n - 1) as f64;
            cov[i * d + j] = v;
            cov[j * d + i] = v;
        }
    }
    Ok((mean, cov))
}

/// Eigenvalues and eigenvectors (columns of `v`, row-major `d x d`) of the symmetric `a`.
fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// The PSD square root `V diag(sqrt(max(l, 0))) V^T` of the symmetric `a`.
fn sqrt_psd(a: &[f64], d: usize) -> Vec<f64> {
    let (l, v) = symmetric_eigen(a, d);
    let r: Vec<f64> = l.iter().map(|x| x.max(0.0).sqrt()).collect();
    let mut out = vec![0f64; d * d];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = (0..d).map(|k| v[i * d + k] * r[k] * v[j * d + k]).sum();
        }
    }
    out
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0f64; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                out[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    out
}

/// Fréchet distance between Gaussians `(mu_a, S_a)` and `(mu_b, S_b)`.
pub fn frechet_distance(a: &(Vec<f64>, Vec<f64>), b: &(Vec<f64>, Vec<f64>)) -> Result<f64> {
    let d = a.0.len();
    if b.0.len() != d || a.1.len() != d * d || b.1.len() != d * d {
        return Err(Error::invalid("Gaussians of different dimensions"));
    }
    let mean_term: f64 = a.0.iter().zip(&b.0).map(|(x, y)| (x - y) * (x - y)).sum();
    let root_a = sqrt_psd(&a.1, d);
    let mut m = matmul(&matmul(&root_a, &b.1, d), &root_a, d);
    // Symmetrise away rounding before the eigendecomposition.
    for i in 0..d {
        for j in i + 1..d {
            let s = 0.5 * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = s;
            m[j * d + i] = s;
        }
    }
    let (l, _) = symmetric_eigen(&m, d);
    let tr_cross: f64 = l.iter().map(|x| x.max(0.0).sqrt()).sum();
    let tr = |s: &[f64]| (0..d).map(|i| s[i * d + i]).sum::<f64>();
    Ok((mean_term + tr(&a.1) + tr(&b.1) - 2.0 * tr_cross).max(0.0))
}

/// Fréchet distance between two sets of embeddings.
pub fn frechet_distance_of_sets(a: &[Vec<f32>], b: &[Vec<f32>]) -> Result<f64> {
    frechet_distance(&gaussian(a)?, &gaussian(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::NoiseRng;

    #[test]
    fn matches_the_closed_form_cases() {
        let mut rng = NoiseRng::new(1);
        let set: Vec<Vec<f32>> = (0..200).map(|_| rng.normals(6)).collect();
        assert!(frechet_distance_of_sets(&set, &set).unwrap() < 1e-9);
        // A shift by s in every one of 6 dimensions adds 6 s^2 exactly.
        let shifted: Vec<Vec<f32>> = set
            .iter()
            .map(|r| r.iter().map(|v| v + 0.5).collect())
            .collect();
        let fd = frechet_distance_of_sets(&set, &shifted).unwrap();
        assert!((fd - 1.5).abs() < 1e-4, "{fd}");
        // Diagonal covariances: sum (sqrt(a) - sqrt(b))^2.
        let a = (
            vec![0.0; 3],
            vec![4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 9.0],
        );
        let b = (
            vec![0.0; 3],
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0],
        );
        let fd = frechet_distance(&a, &b).unwrap();
        assert!((fd - 2.0).abs() < 1e-9, "{fd}");
        // A rotated covariance against itself.
        let (c, s) = (0.6f64, 0.8f64);
        let r = [c, -s, s, c];
        let diag = [3.0, 0.5];
        let mut cov = vec![0.0; 4];
        for i in 0..2 {
            for j in 0..2 {
                cov[i * 2 + j] = (0..2).map(|k| r[i * 2 + k] * diag[k] * r[j * 2 + k]).sum();
            }
        }
        let g = (vec![1.0, 2.0], cov);
        assert!(frechet_distance(&g, &g).unwrap() < 1e-9);
        assert!(frechet_distance_of_sets(&set[..1], &set).is_err());
    }
}
