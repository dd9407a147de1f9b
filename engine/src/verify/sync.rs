//! The model-free audio-visual sync verifier: Pearson correlation between the candidate's
//! onset envelope and the clip's visual events (changes of motion, `MotionTrack::events`) at
//! the video frame times, maximised over small lags (+-2 frames by default, the tolerance of
//! the eye).
//!
//! It scores from the log-mel the VAE decodes, before the vocoder runs, so the search needs
//! no waveform: the envelope is the positive spectral flux of the log-mel (the same quantity
//! librosa's onset strength computes from its own mel spectrogram).

use super::{CandidateView, Verifier, VerifierScore};
use crate::dsp::MelSpectrogram;

/// The sync verifier over one clip range: visual event strength per frame at `times`
/// (seconds from the start of the range).
pub struct SyncVerifier {
    /// Visual event strength per frame.
    pub motion: Vec<f32>,
    /// Frame times from the start of the range.
    pub times: Vec<f64>,
    /// Frame rate of the motion.
    pub fps: f64,
    /// Largest lag tried, in frames.
    pub max_lag: usize,
}

impl Verifier for SyncVerifier {
    fn name(&self) -> &'static str {
        "sync"
    }
    fn score(&self, c: &CandidateView<'_>) -> VerifierScore {
        VerifierScore {
            name: "sync".into(),
            score: Some(sync_score(
                c.mel,
                &self.motion,
                &self.times,
                self.fps,
                self.max_lag,
            )),
            note: None,
        }
    }
}

/// Positive spectral flux per mel frame: `mean_m max(0, S[t, m] - S[t-1, m])` (0 for t = 0).
pub fn onset_envelope_from_log_mel(mel: &MelSpectrogram) -> Vec<f32> {
    let n = mel.n_mels.max(1);
    let mut env = vec![0f32; mel.n_frames.min(1)];
    env.extend(
        mel.data
            .chunks_exact(n)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| {
                w[1].iter()
                    .zip(w[0])
                    .map(|(c, p)| (c - p).max(0.0))
                    .sum::<f32>()
                    / n as f32
            }),
    );
    env
}

/// The envelope pooled (maximum) over each video frame's interval `[t_k, t_k + 1/fps)`.
pub fn pool_to_frames(env: &[f32], hop_s: f64, frame_times: &[f64], fps: f64) -> Vec<f32> {
    frame_times
        .iter()
        .map(|&t| {
            let a = (t / hop_s).floor().max(0.0) as usize;
            let b = (((t + 1.0 / fps) / hop_s).ceil() as usize)
                .max(a + 1)
                .min(env.len());
            env.get(a..b)
                .map_or(0.0, |w| w.iter().copied().fold(0.0, f32::max))
        })
        .collect()
}

/// Pearson correlation of `a` and `b` (0 when either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let mean = |x: &[f32]| x[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (da, db) = (f64::from(a[i]) - ma, f64::from(b[i]) - mb);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if saa <= 1e-18 || sbb <= 1e-18 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Best correlation of `onsets` against `motion` with the audio shifted by up to `max_lag`
/// frames either way; returns `(score, lag)` (positive lag = audio late).
pub fn best_lag_correlation(motion: &[f32], onsets: &[f32], max_lag: usize) -> (f64, i64) {
    let n = motion.len().min(onsets.len());
    let mut best = (f64::NEG_INFINITY, 0i64);
    for lag in -(max_lag as i64)..=(max_lag as i64) {
        let (m, o) = if lag >= 0 {
            (
                &motion[..n.saturating_sub(lag as usize)],
                &onsets[(lag as usize).min(n)..n],
            )
        } else {
            let k = ((-lag) as usize).min(n);
            (&motion[k..n], &onsets[..n - k])
        };
        let r = pearson(m, o);
        if r > best.0 {
            best = (r, lag);
        }
    }
    if best.0.is_finite() { best } else { (0.0, 0) }
}

/// The sync score of a candidate's log-mel against the clip's per-frame motion energy.
pub fn sync_score(
    mel: &MelSpectrogram,
    motion: &[f32],
    frame_times: &[f64],
    fps: f64,
    max_lag: usize,
) -> f64 {
    let env = onset_envelope_from_log_mel(mel);
    let pooled = pool_to_frames(&env, mel.hop_seconds, frame_times, fps);
    best_lag_correlation(motion, &pooled, max_lag).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log-mel with broadband hits at the given frames.
    fn mel_with_hits(frames: usize, hits: &[usize]) -> MelSpectrogram {
        let n_mels = 8;
        let mut data = vec![-10.0f32; frames * n_mels];
        for &h in hits {
            for t in h..(h + 5).min(frames) {
                for m in 0..n_mels {
                    data[t * n_mels + m] = -2.0 - (t - h) as f32;
                }
            }
        }
        MelSpectrogram {
            n_mels,
            n_frames: frames,
            hop_seconds: 0.01,
            data,
        }
    }

    #[test]
    fn clips_shorter_than_the_lag_range_score_zero() {
        // A one-frame clip once panicked here (a lag of two frames sliced past its end).
        assert_eq!(best_lag_correlation(&[1.0], &[0.5], 2).0, 0.0);
        assert_eq!(best_lag_correlation(&[], &[], 2).0, 0.0);
        let (r, lag) = best_lag_correlation(&[0.0, 1.0, 0.0, 0.0], &[0.0, 0.0, 1.0, 0.0], 5);
        assert_eq!(lag, 1);
        assert!((r - 1.0).abs() < 1e-9);
    }

    #[test]
    fn aligned_hits_score_high_and_lags_are_found() {
        // 25 fps, 2 s: motion events at frames 5, 20, 33, 41.
        let fps = 25.0;
        let times: Vec<f64> = (0..50).map(|k| k as f64 / fps).collect();
        let mut motion = vec![0.01f32; 50];
        for k in [5, 20, 33, 41] {
            motion[k] = 1.0;
        }
        let hit_frames = |shift: i64| -> Vec<usize> {
            [5i64, 20, 33, 41]
                .iter()
                .map(|k| ((k + shift) * 4) as usize)
                .collect()
        };
        let aligned = sync_score(&mel_with_hits(200, &hit_frames(0)), &motion, &times, fps, 2);
        assert!(aligned > 0.9, "{aligned}");
        let late = mel_with_hits(200, &hit_frames(2));
        let (r, lag) = best_lag_correlation(
            &motion,
            &pool_to_frames(&onset_envelope_from_log_mel(&late), 0.01, &times, fps),
            2,
        );
        assert!(r > 0.9 && lag == 2, "{r} {lag}");
        let random = sync_score(
            &mel_with_hits(200, &[70, 110, 150]),
            &motion,
            &times,
            fps,
            2,
        );
        assert!(random < 0.3, "{random}");
        assert_eq!(
            sync_score(&mel_with_hits(200, &[]), &motion, &times, fps, 2),
            0.0
        );
    }
}
