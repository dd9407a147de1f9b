//! Vectorisable `exp` and `erf`, and the activations built on them (SiLU, GEGLU). libm's
//! `expf` and `erff` are a call per value, so activations over millions of values ran one at
//! a time; these are plain arithmetic on `f32` and `i32` that the compiler turns into SIMD.
//! `exp` is within three ulps where it is a normal number; `erf` within 5e-7 absolute.

use rayon::prelude::*;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two (Cody and Waite) so that `x - k ln 2` is exact for the `k` used.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5 * 2^23 rounds an f32 of magnitude under 2^22 to an integer.
const ROUND: f32 = 12_582_912.0;
/// Values processed per parallel task.
const CHUNK: usize = 1 << 15;

/// `e^x`. Inputs are clamped to where the result is a normal f32 (so it saturates at about
/// 1.7e38 and 1.2e-38 instead of reaching infinity or zero); NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    // k = round(x / ln 2): after adding ROUND its low mantissa bits hold k, read as an integer
    // (a float-to-int cast would be a scalar, saturating conversion).
    let shifted = x * LOG2E + ROUND;
    let k_bits = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    // Taylor series of e^r on |r| <= ln2 / 2, to r^6 (remainder under 1.2e-7).
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits((k_bits.wrapping_add(127) << 23) as u32)
}

/// `erf(x)`: its Taylor series below 0.5 (where `1 - ...` would cancel), else Abramowitz and
/// Stegun 7.1.26, `1 - poly(t) e^{-x^2}` with `t = 1 / (1 + p |x|)`, within 1.5e-7 of erf
/// before f32 rounding (5e-7 after).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152_1,
        1.061_405_4,
    ];
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let far = 1.0 - poly * exp(-a * a);
    // x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320, remainder under 2e-8 below 0.5.
    let s = a * a;
    let near = std::f32::consts::FRAC_2_SQRT_PI
        * a
        * (1.0
            + s * (-1.0 / 3.0
                + s * (1.0 / 10.0 + s * (-1.0 / 42.0 + s * (1.0 / 216.0 - s / 1320.0)))));
    let y = if a < 0.5 { near } else { far };
    y.copysign(x)
}

/// GEGLU over rows of `[hidden | gate]` (each `2 * inner` wide): `hidden * gelu(gate)` with
/// the exact (erf) GELU, as diffusers' `GEGLU`.
pub fn geglu(values: &[f32], inner: usize) -> Vec<f32> {
    let rows = values.len() / (2 * inner);
    let mut out = vec![0f32; rows * inner];
    out.par_chunks_mut(inner)
        .zip(values.par_chunks(2 * inner))
        .for_each(|(o, row)| {
            let (hidden, gate) = row.split_at(inner);
            for ((o, h), g) in o.iter_mut().zip(hidden).zip(gate) {
                *o = h * 0.5 * g * (1.0 + erf(g * std::f32::consts::FRAC_1_SQRT_2));
            }
        });
    out
}

/// `x * sigmoid(x)` for every value, in place and in parallel.
pub fn silu_in_place(values: &mut [f32]) {
    values.par_chunks_mut(CHUNK).for_each(silu_slice);
}

/// `x * sigmoid(x)` over one slice.
#[inline]
pub(super) fn silu_slice(values: &mut [f32]) {
    for v in values {
        *v /= 1.0 + exp(-*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_three_ulps_of_libm() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = f64::from(x).exp();
            let rel = ((f64::from(exp(x)) - want) / want).abs();
            worst = worst.max(rel);
            x += 0.000_37;
        }
        assert!(worst < 3.6e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(1e6).is_finite() && exp(-1e6) >= 0.0);
    }

    #[test]
    fn erf_is_within_5e_7_of_its_series() {
        let mut worst = 0f64;
        let mut x = -3.0f32;
        while x < 3.0 {
            worst = worst.max((f64::from(erf(x)) - erf_series(f64::from(x))).abs());
            x += 0.000_13;
        }
        assert!(worst < 5e-7, "worst absolute error {worst:e}");
        // Beyond 3, erf is within erfc(3) = 2.2e-5 of one and rises to it.
        let tail: Vec<f32> = (0..100).map(|i| erf(3.0 + i as f32 * 0.05)).collect();
        assert!(tail.windows(2).all(|w| w[1] >= w[0]));
        assert!(tail.iter().all(|v| (1.0 - v) <= 2.3e-5 && *v <= 1.0));
        assert_eq!(erf(-4.0), -erf(4.0));
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(f32::NAN).is_nan());
    }

    /// erf in f64 by its Taylor series (accurate to 1e-12 for |x| <= 3).
    fn erf_series(x: f64) -> f64 {
        // Series: erf x = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)).
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn geglu_gates_the_hidden_half() {
        let inner = 5;
        let row: Vec<f32> = (0..2 * inner).map(|i| i as f32 * 0.3 - 1.2).collect();
        let rows: Vec<f32> = row.iter().chain(&row).copied().collect();
        let out = geglu(&rows, inner);
        assert_eq!(out.len(), 2 * inner);
        for j in 0..inner {
            let (h, g) = (f64::from(row[j]), f64::from(row[inner + j]));
            let want = h * 0.5 * g * (1.0 + erf_series(g / 2f64.sqrt()));
            assert!((f64::from(out[j]) - want).abs() < 1e-6, "{j}");
            assert_eq!(out[j], out[inner + j]);
        }
    }

    #[test]
    fn silu_matches_its_definition() {
        let mut v: Vec<f32> = (-4000..4000).map(|i| i as f32 * 0.01).collect();
        let want: Vec<f32> = v.iter().map(|x| x / (1.0 + (-x).exp())).collect();
        silu_in_place(&mut v);
        for (a, b) in v.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-3), "{a} {b}");
        }
    }
}
