//! Clips of any length: a range longer than the model's window is covered by overlapping
//! windows generated under the same text and reference, each with its own picture features,
//! and stitched with equal-power crossfades over the overlaps (constant power for
//! uncorrelated signals, so no level dip at a seam; the fade is sample-continuous, so no
//! click). Spectrograms, used for scoring, are stitched with linear crossfades of the log-mel.

use crate::dsp::MelSpectrogram;
use crate::error::{Error, Result};

/// Overlap wanted between neighbouring windows, as a fraction of the window.
const MIN_OVERLAP: f64 = 0.2;

/// Where the windows of a range sit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WindowPlan {
    /// The range to cover, in seconds of the clip.
    pub range: (f64, f64),
    /// Window length in seconds.
    pub window_s: f64,
    /// Window start times, in seconds of the clip.
    pub starts: Vec<f64>,
}

impl WindowPlan {
    /// Cover `range` with windows of `window_s`: one window when the range fits (the audio is
    /// cut to the range), otherwise the fewest windows overlapping by at least a fifth of a
    /// window, spaced evenly so the last ends exactly at the range's end.
    pub fn new(range: (f64, f64), window_s: f64) -> Result<Self> {
        let (a, b) = range;
        if !(a >= 0.0 && b > a && b.is_finite()) {
            return Err(Error::invalid(format!(
                "the range {a:.3}-{b:.3} s is empty or negative"
            )));
        }
        if !(window_s > 0.0) {
            return Err(Error::invalid("the model window must be positive"));
        }
        let len = b - a;
        let starts = if len <= window_s + 1e-9 {
            vec![a]
        } else {
            let hop = window_s * (1.0 - MIN_OVERLAP);
            let n = ((len - window_s) / hop).ceil() as usize + 1;
            let step = (len - window_s) / (n - 1) as f64;
            (0..n).map(|i| a + i as f64 * step).collect()
        };
        Ok(Self {
            range,
            window_s,
            starts,
        })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are no windows (never, for a valid plan).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Seconds of the range.
    pub fn duration_s(&self) -> f64 {
        self.range.1 - self.range.0
    }

    /// Join per-window signals sampled at `rate` (values per second) into one signal covering
    /// the range; `fade(p)` gives the incoming window's weight at position `p` in `[0, 1]`
    /// of an overlap, the outgoing window getting `fade(1 - p)`.
    fn stitch_with(
        &self,
        parts: &[&[f32]],
        width: usize,
        rate: f64,
        fade: impl Fn(f64) -> f64,
    ) -> Result<Vec<f32>> {
        if parts.len() != self.len() {
            return Err(Error::invalid(format!(
                "{} windows to stitch, the plan has {}",
                parts.len(),
                self.len()
            )));
        }
        let total = (self.duration_s() * rate).round() as usize;
        let mut out = vec![0f32; total * width];
        for (w, (part, &start)) in parts.iter().zip(&self.starts).enumerate() {
            let offset = ((start - self.range.0) * rate).round() as usize;
            let prev_end = (w > 0).then(|| {
                ((self.starts[w - 1] + self.window_s - self.range.0) * rate).round() as usize
            });
            let next_start = self
                .starts
                .get(w + 1)
                .map(|s| ((s - self.range.0) * rate).round() as usize);
            let frames = part.len() / width;
            for i in 0..frames {
                let t = offset + i;
                if t >= total {
                    break;
                }
                let mut g = 1.0;
                if let Some(end) = prev_end.filter(|&e| t < e) {
                    g *= fade((t - offset) as f64 / (end - offset).max(1) as f64);
                }
                if let Some(next) = next_start.filter(|&n| t >= n) {
                    let end = offset + frames;
                    g *= fade(1.0 - (t - next) as f64 / (end - next).max(1) as f64);
                }
                for (o, v) in out[t * width..(t + 1) * width]
                    .iter_mut()
                    .zip(&part[i * width..(i + 1) * width])
                {
                    *o += (g as f32) * v;
                }
            }
        }
        Ok(out)
    }

    /// Stitch mono waveforms at `sample_rate` with equal-power fades.
    pub fn stitch_audio(&self, parts: &[&[f32]], sample_rate: u32) -> Result<Vec<f32>> {
        self.stitch_with(parts, 1, f64::from(sample_rate), |p| {
            (p.clamp(0.0, 1.0) * std::f64::consts::FRAC_PI_2).sin()
        })
    }

    /// Stitch log-mel spectrograms with linear fades.
    pub fn stitch_mels(&self, parts: &[&MelSpectrogram]) -> Result<MelSpectrogram> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("no spectrograms to stitch"))?;
        let views: Vec<&[f32]> = parts.iter().map(|m| m.data.as_slice()).collect();
        let data = self.stitch_with(&views, first.n_mels, 1.0 / first.hop_seconds, |p| {
            p.clamp(0.0, 1.0)
        })?;
        Ok(MelSpectrogram {
            n_mels: first.n_mels,
            n_frames: data.len() / first.n_mels.max(1),
            hop_seconds: first.hop_seconds,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_the_range_with_even_overlaps() {
        let one = WindowPlan::new((1.0, 4.0), 10.24).unwrap();
        assert_eq!(one.starts, vec![1.0]);
        let p = WindowPlan::new((0.0, 60.0), 10.24).unwrap();
        assert_eq!(p.starts[0], 0.0);
        assert!((p.starts.last().unwrap() + 10.24 - 60.0).abs() < 1e-9);
        let overlap = 10.24 - (p.starts[1] - p.starts[0]);
        assert!(overlap >= 0.2 * 10.24 - 1e-9, "{overlap}");
        assert_eq!(p.len(), 8);
        assert!(WindowPlan::new((3.0, 3.0), 1.0).is_err());
        assert!(WindowPlan::new((-1.0, 3.0), 1.0).is_err());
    }

    #[test]
    fn stitching_is_seamless_on_a_continuous_signal() {
        // Windows cut from one sine: the stitched signal equals the sine up to the
        // equal-power bump (|sin + cos| <= sqrt 2 only where the parts are correlated), and
        // has no jump anywhere.
        let sr = 1000u32;
        let plan = WindowPlan::new((0.0, 5.0), 2.0).unwrap();
        let sine = |t: f64| (t * 2.0 * std::f64::consts::PI * 3.0).sin() as f32;
        let parts: Vec<Vec<f32>> = plan
            .starts
            .iter()
            .map(|&s| {
                (0..2 * sr)
                    .map(|i| sine(s + f64::from(i) / f64::from(sr)))
                    .collect()
            })
            .collect();
        let views: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
        let out = plan.stitch_audio(&views, sr).unwrap();
        assert_eq!(out.len(), 5000);
        let max_step = out
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0f32, f32::max);
        let sine_step = (2.0 * std::f32::consts::PI * 3.0) / sr as f32;
        assert!(max_step < 1.5 * sine_step, "a jump of {max_step}");
        // Uncorrelated noise keeps its power through a seam.
        let mut rng = crate::noise::NoiseRng::new(3);
        let noise: Vec<Vec<f32>> = (0..plan.len()).map(|_| rng.normals(2000)).collect();
        let views: Vec<&[f32]> = noise.iter().map(Vec::as_slice).collect();
        let out = plan.stitch_audio(&views, sr).unwrap();
        let power = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
        let seam = plan.starts[1] as usize * 1000 + 100;
        let p_seam = power(&out[seam..seam + 300]);
        assert!((0.6..1.4).contains(&p_seam), "power {p_seam} at the seam");

        let mel = |v: f32| MelSpectrogram {
            n_mels: 2,
            n_frames: 200,
            hop_seconds: 0.01,
            data: vec![v; 400],
        };
        let (a, b, c) = (mel(-4.0), mel(-4.0), mel(-4.0));
        let stitched = plan.stitch_mels(&[&a, &b, &c]).unwrap();
        assert_eq!(stitched.n_frames, 500);
        assert!(stitched.data.iter().all(|v| (v + 4.0).abs() < 1e-5));
    }
}
