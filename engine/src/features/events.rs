//! Discrete visual events: the moments of [`MotionTrack::events`] a Foley artist would spot a
//! sound on. Peaks of the event curve that stand out from the clip's strongest one and from a
//! floor below which the picture is only noise, at most one per `min_gap_s`.

use super::track::MotionTrack;

/// One picked event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisualEvent {
    /// Seconds from the start of the clip (a frame time of the track).
    pub time_s: f64,
    /// Event strength relative to the clip's strongest event, in (0, 1].
    pub strength: f32,
}

/// How events are picked from the curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventPicking {
    /// A peak must reach this fraction of the clip's strongest peak.
    pub relative: f32,
    /// ... and this absolute strength (picture widths per second of change of motion): a
    /// still or steadily moving picture has no events, however its noise peaks.
    pub floor: f32,
    /// Two events are at least this far apart; the stronger one is kept.
    pub min_gap_s: f64,
}

impl Default for EventPicking {
    fn default() -> Self {
        Self {
            relative: 0.2,
            floor: 0.3,
            min_gap_s: 0.1,
        }
    }
}

/// The events of a track, in time order.
pub fn pick_events(track: &MotionTrack, picking: &EventPicking) -> Vec<VisualEvent> {
    pick_peaks(&track.events(), &track.times, picking)
}

/// Local maxima of `curve` (sampled at `times`) above both thresholds, strongest first
/// through a minimum-gap suppression, returned in time order.
pub fn pick_peaks(curve: &[f32], times: &[f64], picking: &EventPicking) -> Vec<VisualEvent> {
    let n = curve.len().min(times.len());
    let top = curve[..n]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0f32, f32::max);
    let threshold = (picking.relative * top).max(picking.floor);
    if top < threshold || top <= 0.0 {
        return Vec::new();
    }
    let mut peaks: Vec<usize> = (0..n)
        .filter(|&i| {
            let v = curve[i];
            v.is_finite()
                && v >= threshold
                && (i == 0 || curve[i - 1] <= v)
                && (i + 1 == n || curve[i + 1] < v)
        })
        .collect();
    peaks.sort_by(|&a, &b| curve[b].total_cmp(&curve[a]).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::with_capacity(peaks.len());
    for i in peaks {
        if kept
            .iter()
            .all(|&k| (times[k] - times[i]).abs() >= picking.min_gap_s)
        {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept.into_iter()
        .map(|i| VisualEvent {
            time_s: times[i],
            strength: curve[i] / top,
        })
        .collect()
}

/// Event times as a curve over the frames at `times`: 1 at the frame nearest each event
/// inside the frames' span, 0 elsewhere (what the sync verifier reads for marked events).
pub fn impulses(events: &[f64], times: &[f64]) -> Vec<f32> {
    let mut curve = vec![0f32; times.len()];
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return curve;
    };
    let step = if times.len() > 1 {
        (last - first) / (times.len() - 1) as f64
    } else {
        0.0
    };
    for &t in events {
        if !(t >= first - step / 2.0 && t <= last + step / 2.0) {
            continue;
        }
        let i = times.partition_point(|&f| f < t);
        let nearest = match (i.checked_sub(1), times.get(i)) {
            (Some(j), Some(&after)) if t - times[j] <= after - t => j,
            (Some(j), None) => j,
            _ => i,
        };
        curve[nearest] = 1.0;
    }
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize) -> Vec<f64> {
        (0..n).map(|k| k as f64 / 25.0).collect()
    }

    #[test]
    fn peaks_above_both_thresholds_keep_their_gap() {
        let mut curve = vec![0.05f32; 50];
        curve[10] = 2.0;
        curve[11] = 1.5; // the shoulder of the same hit
        curve[12] = 1.8; // a second peak 0.08 s later: suppressed by the stronger one
        curve[30] = 0.6;
        curve[40] = 0.25; // under the absolute floor
        let events = pick_peaks(&curve, &times(50), &EventPicking::default());
        let at: Vec<f64> = events.iter().map(|e| e.time_s).collect();
        assert_eq!(at, vec![10.0 / 25.0, 30.0 / 25.0]);
        assert_eq!(events[0].strength, 1.0);
        assert!((events[1].strength - 0.3).abs() < 1e-6);
    }

    #[test]
    fn marked_events_land_on_their_nearest_frame() {
        let t = times(10);
        let curve = impulses(&[0.0, 0.05, 0.37, 0.39, 5.0, -1.0], &t);
        let on: Vec<usize> = (0..10).filter(|&i| curve[i] == 1.0).collect();
        assert_eq!(on, vec![0, 1, 9]);
        assert!(impulses(&[0.1], &[]).is_empty());
    }

    #[test]
    fn a_still_picture_has_no_events() {
        let curve: Vec<f32> = (0..50).map(|k| 0.01 * (k % 7) as f32).collect();
        assert!(pick_peaks(&curve, &times(50), &EventPicking::default()).is_empty());
        assert!(pick_peaks(&[], &[], &EventPicking::default()).is_empty());
        let nan = vec![f32::NAN; 5];
        assert!(pick_peaks(&nan, &times(5), &EventPicking::default()).is_empty());
    }
}
