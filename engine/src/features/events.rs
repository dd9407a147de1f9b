//! Discrete visual events: the moments a Foley artist would spot a sound on. Sound happens
//! where the motion of something changes at once (a foot stops on the floor, a ball reverses
//! on a wall, a door starts to swing, a light flashes), so the evidence at a frame is the
//! change of motion after the camera's motion is removed; cuts and the motion measured
//! across them count for nothing, so events reset per shot. Events are the peaks of that
//! evidence above a floor set by the sensitivity, each with a confidence and the region of
//! the picture it came from.

use super::objects::{follow, motion_steps};
use super::track::MotionTrack;

/// One picked event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisualEvent {
    /// Seconds from the start of the clip (a frame time of the track).
    pub time_s: f64,
    /// Event strength relative to the clip's strongest event, in (0, 1].
    pub strength: f32,
    /// How sure the picker is that a sound belongs here, in (0, 1).
    pub confidence: f32,
    /// Where in the picture the motion changed: `[x0, y0, x1, y1]` in fractions of the width
    /// and height.
    pub region: [f32; 4],
}

/// How events are picked from the evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventPicking {
    /// How readily events are picked, 0 to 1: the floor and the relative threshold are
    /// scaled by `4^(1 - 2 s)`, so 0.5 keeps them, 1 divides them by four and 0 multiplies
    /// them by four.
    pub sensitivity: f32,
    /// A peak must reach this fraction of the clip's strongest peak.
    pub relative: f32,
    /// Two events are at least this far apart; the stronger one is kept.
    pub min_gap_s: f64,
}

/// Evidence (picture widths per second of change of motion) an event needs at sensitivity
/// 0.5: a still or steadily moving picture has no events, however its noise peaks.
pub const FLOOR: f32 = 0.3;

/// Weight of the rise of the residual (a flash, an appearance) against a change of motion.
const RISE_WEIGHT: f32 = 10.0;

impl Default for EventPicking {
    fn default() -> Self {
        Self {
            sensitivity: 0.5,
            relative: 0.35,
            min_gap_s: 0.1,
        }
    }
}

impl EventPicking {
    /// How much the sensitivity scales the thresholds.
    fn scale(&self) -> f32 {
        4f32.powf(1.0 - 2.0 * self.sensitivity.clamp(0.0, 1.0))
    }

    /// The evidence an event needs.
    pub fn floor(&self) -> f32 {
        FLOOR * self.scale()
    }

    /// The fraction of the clip's strongest peak an event needs.
    pub fn relative_threshold(&self) -> f32 {
        (self.relative * self.scale()).min(0.9)
    }
}

/// Per-frame evidence of a sound event and where in the picture it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence {
    /// Strength per frame (picture widths per second).
    pub strength: Vec<f32>,
    /// The region of each frame's strongest evidence (see [`VisualEvent::region`]).
    pub region: Vec<[f32; 4]>,
}

/// The evidence of every frame of `track`: the strongest step in the motion of any moving
/// thing (see [`super::objects`]; picture widths per second) or ten times the rise of the
/// residual motion (a flash, an appearance), whichever is larger; nothing on a cut or on the
/// frames next to it, whose motion is measured against the other shot.
pub fn evidence(track: &MotionTrack) -> Evidence {
    let k = &track.kinematics;
    let n = track.len().min(k.things.len()).min(k.residual.len());
    let cut = |i: usize| track.cuts.get(i).copied().unwrap_or(false);
    let mean = |i: usize| {
        let r = &k.residual[i];
        r.iter().sum::<f32>() / r.len().max(1) as f32
    };
    let tracks = follow(&k.things[..n], &track.cuts, track.fps);
    let (steps, bounds) = motion_steps(&k.things[..n], &tracks, &track.cuts, track.fps);
    let mut out = Evidence {
        strength: vec![0.0; track.len()],
        region: vec![[0.0, 0.0, 1.0, 1.0]; track.len()],
    };
    for i in 1..n {
        if cut(i) || cut(i - 1) || (i + 1 < n && cut(i + 1)) {
            continue;
        }
        let rise = RISE_WEIGHT * (mean(i) - mean(i - 1)).max(0.0);
        out.strength[i] = steps[i].max(rise);
        if steps[i] >= rise
            && let Some(b) = bounds[i]
        {
            out.region[i] = b;
        }
    }
    out
}

/// The events of a track, in time order.
pub fn pick_events(track: &MotionTrack, picking: &EventPicking) -> Vec<VisualEvent> {
    let e = evidence(track);
    let mut events = pick_peaks(&e.strength, &track.times, picking);
    for ev in &mut events {
        let i = track.times.partition_point(|&t| t < ev.time_s - 1e-9);
        if let Some(r) = e.region.get(i) {
            ev.region = *r;
        }
    }
    events
}

/// Local maxima of `curve` (sampled at `times`) above the floor and the relative threshold,
/// strongest first through a minimum-gap suppression, returned in time order. Confidence
/// grows with how far a peak clears the floor: `1 - exp(-v / floor)`.
pub fn pick_peaks(curve: &[f32], times: &[f64], picking: &EventPicking) -> Vec<VisualEvent> {
    let n = curve.len().min(times.len());
    let top = curve[..n]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0f32, f32::max);
    let floor = picking.floor();
    let threshold = (picking.relative_threshold() * top).max(floor);
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
            confidence: 1.0 - (-curve[i] / floor).exp(),
            region: [0.0, 0.0, 1.0, 1.0],
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
        curve[30] = 0.8;
        curve[35] = 0.6; // under the relative threshold (0.35 of 2.0)
        curve[40] = 0.25; // under the absolute floor
        let events = pick_peaks(&curve, &times(50), &EventPicking::default());
        let at: Vec<f64> = events.iter().map(|e| e.time_s).collect();
        assert_eq!(at, vec![10.0 / 25.0, 30.0 / 25.0]);
        assert_eq!(events[0].strength, 1.0);
        assert!((events[1].strength - 0.4).abs() < 1e-6);
        // Confidence grows with how far a peak clears the floor.
        assert!(events[0].confidence > events[1].confidence && events[1].confidence > 0.9);
    }

    #[test]
    fn sensitivity_moves_both_thresholds() {
        let mut curve = vec![0.0f32; 30];
        curve[5] = 0.2;
        curve[20] = 0.5;
        let pick = |sensitivity: f32| {
            let picking = EventPicking {
                sensitivity,
                relative: 0.0,
                ..EventPicking::default()
            };
            pick_peaks(&curve, &times(30), &picking).len()
        };
        assert_eq!((pick(0.0), pick(0.5), pick(1.0)), (0, 1, 2));
        let default = EventPicking::default();
        assert!((default.floor() - FLOOR).abs() < 1e-6);
        assert!((default.relative_threshold() - default.relative).abs() < 1e-6);
        // A peak at 0.3 of the strongest (2.0) clears the relative threshold only when
        // sensitive.
        curve[5] = 0.6;
        curve[20] = 2.0;
        let relative = |sensitivity: f32| {
            let picking = EventPicking {
                sensitivity,
                ..EventPicking::default()
            };
            pick_peaks(&curve, &times(30), &picking).len()
        };
        assert_eq!((relative(0.5), relative(0.8)), (1, 2));
    }

    #[test]
    fn a_stop_is_an_event_with_its_region_and_a_cut_is_not() {
        use crate::features::kinematics::{Kinematics, Thing};
        let n = 24;
        // A thing glides right until frame 6 and stops there; at frame 16 the shot cuts
        // (everything changes and the residual jumps).
        let mut things = vec![Vec::new(); n];
        for (i, frame) in things.iter_mut().enumerate().take(6).skip(1) {
            let x = 0.3 + 0.02 * i as f32;
            *frame = vec![Thing {
                centre: [x, 0.2],
                bounds: [x - 0.05, 0.3, x + 0.05, 0.5],
                area: 50,
                velocity: Some([0.5, 0.0]),
            }];
        }
        let mut residual = vec![vec![0.0f32; 4]; n];
        residual[16] = vec![0.5; 4];
        let track = MotionTrack {
            fps: 25.0,
            times: times(n),
            energy: vec![0.0; n],
            grid: 2,
            cells: vec![vec![0.0; 4]; n],
            colour: vec![[0.5; 3]; n],
            kinematics: Kinematics {
                camera: vec![[0.0; 2]; n],
                residual,
                change: vec![vec![0.0; 4]; n],
                things,
            },
            cuts: (0..n).map(|i| i == 16).collect(),
        };
        let e = evidence(&track);
        assert!(
            e.strength[15..18].iter().all(|&v| v == 0.0),
            "{:?}",
            e.strength
        );
        let events = pick_events(&track, &EventPicking::default());
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].time_s, 6.0 / 25.0);
        assert!((events[0].region[0] - 0.35).abs() < 1e-6 && events[0].region[1] == 0.3);
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
