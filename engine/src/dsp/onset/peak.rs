//! librosa's greedy peak picker (`util.peak_pick`) with the windows `onset_detect` gives it.

/// Windows of librosa's `util.peak_pick`, in frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakPickParams {
    /// Frames before `n` in the local-maximum window.
    pub pre_max: usize,
    /// Frames after `n` (exclusive end, >= 1) in the local-maximum window.
    pub post_max: usize,
    /// Frames before `n` in the local-mean window.
    pub pre_avg: usize,
    /// Frames after `n` (exclusive end, >= 1) in the local-mean window.
    pub post_avg: usize,
    /// Margin by which a peak must exceed the local mean.
    pub delta: f64,
    /// Frames skipped after each detection.
    pub wait: usize,
}

impl PeakPickParams {
    /// The windows `onset_detect` derives from the sample rate and hop: 30 ms before for the
    /// maximum, 100 ms either side for the mean, 30 ms wait, each `ceil(t * sr // hop)` (+1
    /// for the `post_*` ends).
    pub fn librosa(sample_rate: f64, hop_length: usize, delta: f64, wait: Option<usize>) -> Self {
        let frames = |seconds: f64| py_floordiv(seconds * sample_rate, hop_length as f64);
        let to_count = |frames: f64| frames.ceil().max(0.0) as usize;
        Self {
            pre_max: to_count(frames(0.03)),
            post_max: to_count(frames(0.0) + 1.0),
            pre_avg: to_count(frames(0.10)),
            post_avg: to_count(frames(0.10) + 1.0),
            delta,
            wait: wait.unwrap_or_else(|| to_count(frames(0.03))),
        }
    }
}

/// librosa's `util.peak_pick`: frame `n` is a peak if `x[n]` is the maximum of
/// `x[n - pre_max .. n + post_max]`, at least the mean of `x[n - pre_avg .. n + post_avg]`
/// plus `delta`, and more than `wait` frames after the previous peak (picked greedily).
/// `delta` is rounded to f32 as librosa's compiled kernel receives it.
pub fn peak_pick(x: &[f64], params: &PeakPickParams) -> Vec<usize> {
    let len = x.len();
    let mut peaks = Vec::new();
    if len == 0 {
        return peaks;
    }
    let delta = params.delta as f32 as f64;
    let post_max = params.post_max.max(1);
    let post_avg = params.post_avg.max(1);
    let max_of = |s: &[f64]| s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean_of = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;

    let first =
        x[0] >= max_of(&x[..post_max.min(len)]) && x[0] >= mean_of(&x[..post_avg.min(len)]) + delta;
    let mut n = 1;
    if first {
        peaks.push(0);
        n = params.wait + 1;
    }
    while n < len {
        let window = &x[n.saturating_sub(params.pre_max)..(n + post_max).min(len)];
        if x[n] != max_of(window) {
            n += 1;
            continue;
        }
        let window = &x[n.saturating_sub(params.pre_avg)..(n + post_avg).min(len)];
        if x[n] < mean_of(window) + delta {
            n += 1;
            continue;
        }
        peaks.push(n);
        n += params.wait + 1;
    }
    peaks
}

/// Python's float floor division `a // b` (as librosa computes `0.03 * sr // hop_length`).
pub(super) fn py_floordiv(a: f64, b: f64) -> f64 {
    let modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 && ((b < 0.0) != (modulo < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0;
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}
