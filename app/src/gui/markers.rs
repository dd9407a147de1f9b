//! Timing the user gives: markers tapped while the clip plays, added, dragged or deleted on
//! the timeline, or taken from the onsets of a vocal imitation. When there are any they
//! replace the events picked from the picture, both in generation and in spot mode.

use std::path::Path;

use avsync_engine::dsp::onset::{OnsetConfig, OnsetDetector};
use avsync_engine::media::{DecodeOptions, decode_audio};
use avsync_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::timecode::Rate;

/// Sample rate the onsets of an imitation are found at.
const ONSET_RATE: u32 = 16_000;

/// Event markers in seconds of the clip, ascending, each on the start of its frame; a frame
/// holds at most one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Markers {
    times: Vec<f64>,
}

impl Markers {
    /// The marker times, ascending.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Markers from saved times (already on frames), dropping what is not a time.
    pub fn from_saved(times: impl IntoIterator<Item = f64>) -> Self {
        let mut times: Vec<f64> = times
            .into_iter()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        Self { times }
    }

    /// Add a marker on the frame shown at `t`; returns its index. A frame that already has
    /// one keeps it (a double tap is one event). Non-finite or negative times are ignored.
    pub fn add(&mut self, t: f64, rate: Rate) -> Option<usize> {
        if !t.is_finite() || t < 0.0 {
            return None;
        }
        let t = snap(t, rate);
        let i = self.times.partition_point(|x| *x < t - 1e-9);
        if self.times.get(i).is_none_or(|x| (x - t).abs() > 1e-9) {
            self.times.insert(i, t);
        }
        Some(i)
    }

    /// Move marker `i` to the frame shown at `t`; returns its new index.
    pub fn move_to(&mut self, i: usize, t: f64, rate: Rate) -> Option<usize> {
        if i >= self.times.len() {
            return None;
        }
        self.times.remove(i);
        self.add(t, rate)
    }

    /// Delete marker `i`.
    pub fn remove(&mut self, i: usize) {
        if i < self.times.len() {
            self.times.remove(i);
        }
    }

    /// Delete every marker.
    pub fn clear(&mut self) {
        self.times.clear();
    }

    /// The marker nearest `t` within `tolerance` seconds.
    pub fn nearest(&self, t: f64, tolerance: f64) -> Option<usize> {
        self.times
            .iter()
            .enumerate()
            .map(|(i, x)| (i, (x - t).abs()))
            .filter(|(_, d)| *d <= tolerance)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// The markers in `[from, to]`.
    pub fn within(&self, (from, to): (f64, f64)) -> Vec<f64> {
        self.times
            .iter()
            .copied()
            .filter(|t| *t >= from && *t <= to)
            .collect()
    }
}

/// The start of the frame shown at `t`.
fn snap(t: f64, rate: Rate) -> f64 {
    rate.frame_at(t) as f64 / rate.fps()
}

/// The onsets of a recorded or dropped vocal imitation (or any sound), in seconds from its
/// start: each "ts", "dk" or knock becomes an event.
pub fn imitation_onsets(path: &Path) -> Result<Vec<f64>> {
    let audio = decode_audio(path, &DecodeOptions::to(ONSET_RATE, 1))?;
    if audio.samples.is_empty() {
        return Err(Error::media(path, "the sound is empty"));
    }
    let detector = OnsetDetector::new(ONSET_RATE, OnsetConfig::for_video_sync(ONSET_RATE))?;
    let envelope = detector.strength(&audio.samples)?;
    Ok(detector.detect(&envelope).times_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAL: Rate = Rate { num: 25, den: 1 };

    #[test]
    fn markers_snap_to_frames_and_stay_sorted() {
        let mut m = Markers::default();
        assert_eq!(m.add(0.93, PAL), Some(0));
        assert_eq!(m.add(0.11, PAL), Some(0));
        assert_eq!(m.times(), &[0.08, 0.92]);
        // The same frame again is one event.
        m.add(0.925, PAL);
        assert_eq!(m.len(), 2);
        assert_eq!(m.add(f64::NAN, PAL), None);
        assert_eq!(m.add(-1.0, PAL), None);
        assert_eq!(m.move_to(0, 2.0, PAL), Some(1));
        assert_eq!(m.times(), &[0.92, 2.0]);
        assert_eq!(m.nearest(1.95, 0.1), Some(1));
        assert_eq!(m.nearest(1.5, 0.1), None);
        assert_eq!(m.within((0.0, 1.0)), vec![0.92]);
        m.remove(0);
        m.remove(5);
        assert_eq!(m.times(), &[2.0]);
        m.clear();
        assert!(m.is_empty());
    }

    #[test]
    fn saved_markers_round_trip_as_a_list() {
        let mut m = Markers::default();
        for t in [0.5, 0.1, 0.5] {
            m.add(t, PAL);
        }
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "[0.08,0.48]");
        let back: Markers = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let saved = Markers::from_saved([0.48, f64::NAN, 0.08, -1.0, 0.48]);
        assert_eq!(saved, m);
    }
}
