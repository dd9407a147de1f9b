//! Moving things followed over frames, and where each one's motion changes at once. A thing
//! (a region of coherent residual motion, see [`Thing`]) is linked to the thing of the
//! previous frame where its motion predicts it; along a track, the evidence of an event at a
//! frame is the step between the mean velocity just before and just after it (each side a
//! tenth of a second), less what an acceleration seen on both sides explains, weighted by how
//! steady each side is. A jitter, which reverses every frame or two, cancels within a side; a
//! steady movement or a smooth turn leaves no step; a stop (the thing vanishes where it was,
//! not at the picture's edge, and no other piece carries its motion on), a start, a reversal
//! on contact or an impact does. Tracks end at cuts.

use super::kinematics::Thing;

/// Seconds of motion averaged on each side of a step.
const SIDE_S: f64 = 0.1;
/// Farthest a thing may land from where its motion predicts, in picture widths.
const LINK_RADIUS: f32 = 0.08;
/// A thing that vanishes or appears this close to the picture's edge left or entered it.
const EDGE: f32 = 0.04;

/// One thing followed over consecutive frames.
#[derive(Debug, Clone, PartialEq)]
pub struct ThingTrack {
    /// First frame.
    pub start: usize,
    /// The thing at each frame from `start` on.
    pub things: Vec<Thing>,
}

impl ThingTrack {
    /// One past the last frame.
    pub fn end(&self) -> usize {
        self.start + self.things.len()
    }
}

/// Link the things of each frame (`fps` apart) into tracks; none continues across a cut.
pub fn follow(things: &[Vec<Thing>], cuts: &[bool], fps: f64) -> Vec<ThingTrack> {
    let dt = 1.0 / fps.max(1.0) as f32;
    let mut tracks: Vec<ThingTrack> = Vec::new();
    // Tracks that reach the previous frame.
    let mut open: Vec<usize> = Vec::new();
    for (i, now) in things.iter().enumerate() {
        let cut = cuts.get(i).copied().unwrap_or(false);
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        if !cut {
            for (oi, &t) in open.iter().enumerate() {
                let last = tracks[t].things.last().expect("tracks are never empty");
                let v = last.velocity.unwrap_or([0.0; 2]);
                let predicted = [last.centre[0] + v[0] * dt, last.centre[1] + v[1] * dt];
                let reach = LINK_RADIUS + v[0].hypot(v[1]) * dt;
                for (bi, b) in now.iter().enumerate() {
                    let d = (b.centre[0] - predicted[0]).hypot(b.centre[1] - predicted[1]);
                    if d <= reach {
                        pairs.push((d, oi, bi));
                    }
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut taken_open, mut taken_now) = (vec![false; open.len()], vec![false; now.len()]);
        let mut next_open = Vec::with_capacity(now.len());
        for (_, oi, bi) in pairs {
            if !taken_open[oi] && !taken_now[bi] {
                taken_open[oi] = true;
                taken_now[bi] = true;
                tracks[open[oi]].things.push(now[bi]);
                next_open.push(open[oi]);
            }
        }
        for (bi, b) in now.iter().enumerate() {
            if !taken_now[bi] {
                tracks.push(ThingTrack {
                    start: i,
                    things: vec![*b],
                });
                next_open.push(tracks.len() - 1);
            }
        }
        open = next_open;
    }
    tracks
}

/// Whether a thing touches the picture's edge.
fn at_edge(t: &Thing) -> bool {
    let [x0, y0, x1, y1] = t.bounds;
    x0 < EDGE || y0 < EDGE || x1 > 1.0 - EDGE || y1 > 1.0 - EDGE
}

/// Mean velocity of the known values and how steady they are: `|mean v| / mean |v|` (1 for
/// a steady movement or rest, near 0 for a jitter). `None` with fewer than half known.
fn side(values: &[Option<[f32; 2]>]) -> Option<([f32; 2], f32)> {
    let known: Vec<[f32; 2]> = values.iter().flatten().copied().collect();
    if known.is_empty() || known.len() * 2 < values.len() {
        return None;
    }
    let n = known.len() as f32;
    let mean = known
        .iter()
        .fold([0f32; 2], |m, v| [m[0] + v[0] / n, m[1] + v[1] / n]);
    let speed = known.iter().map(|v| v[0].hypot(v[1])).sum::<f32>() / n;
    let steady = if speed > 1e-6 {
        mean[0].hypot(mean[1]) / speed
    } else {
        1.0
    };
    Some((mean, steady))
}

/// Per-frame evidence of a change of motion (picture widths per second) over `n` frames, and
/// the bounds of the thing that gave each frame's strongest evidence.
pub fn motion_steps(
    things: &[Vec<Thing>],
    tracks: &[ThingTrack],
    cuts: &[bool],
    fps: f64,
) -> (Vec<f32>, Vec<Option<[f32; 4]>>) {
    let n = things.len();
    let w = ((SIDE_S * fps).round() as usize).max(2);
    let dt = 1.0 / fps.max(1.0) as f32;
    // Whether another thing near frame `at` is where `t` would be `k` frames later and
    // moves like it: the same object found as another piece, so `t` did not stop there
    // (or, with `k` negative, did not start).
    let continued = |t: &Thing, at: usize, k: f32| {
        let v = t.velocity.unwrap_or([0.0; 2]);
        let speed = v[0].hypot(v[1]);
        let reach = LINK_RADIUS + speed * dt;
        (at.saturating_sub(1)..(at + 2).min(n)).any(|j| {
            things[j].iter().any(|b| {
                let p = [t.centre[0] + v[0] * dt * k, t.centre[1] + v[1] * dt * k];
                let near = (b.centre[0] - p[0]).hypot(b.centre[1] - p[1]) <= reach;
                let alike = b
                    .velocity
                    .is_some_and(|u| (u[0] - v[0]).hypot(u[1] - v[1]) <= 0.5 * speed + 0.1);
                b != t && near && alike
            })
        })
    };
    let cut = |i: usize| cuts.get(i).copied().unwrap_or(false);
    let mut strength = vec![0f32; n];
    let mut bounds = vec![None; n];
    for track in tracks {
        // The track's velocity per frame over its shot: known while it lasts; at rest before
        // it appears and after it vanishes inside the picture (it started or stopped there);
        // unknown past the picture's edge, across a cut, or where no shift explained it.
        let first = track.things.first().expect("tracks are never empty");
        let last = track.things.last().expect("tracks are never empty");
        let shot_start = (0..=track.start).rev().find(|&j| cut(j)).unwrap_or(0);
        let shot_end = (track.end()..n).find(|&j| cut(j)).unwrap_or(n);
        let lo = track.start.saturating_sub(2 * w).max(shot_start);
        let hi = (track.end() + 2 * w).min(shot_end);
        // The first frame of a shot has no motion measured: a thing moving there did not
        // start there.
        // Flickering pieces of texture a camera move leaves are not things that start or
        // stop: those last a side's length at least.
        let lasting = track.things.len() >= w;
        let started = lasting
            && track.start > shot_start + 1
            && !at_edge(first)
            && !continued(first, track.start.saturating_sub(1), -1.0);
        let stopped = lasting && !at_edge(last) && !continued(last, track.end(), 1.0);
        let velocity = |j: usize| -> Option<[f32; 2]> {
            if j < track.start {
                started.then_some([0.0; 2])
            } else if j < track.end() {
                track.things[j - track.start].velocity
            } else {
                stopped.then_some([0.0; 2])
            }
        };
        let series: Vec<Option<[f32; 2]>> = (lo..hi).map(velocity).collect();
        let mean_of = |a: usize, b: usize| side(&series[a - lo..b - lo]);
        for i in (lo + 1)..hi {
            let (a, b) = (i.saturating_sub(w).max(lo), (i + w).min(hi));
            if i - a < w.div_ceil(2) || b - i < w.div_ceil(2) {
                continue;
            }
            let (Some((u, su)), Some((v, sv))) = (mean_of(a, i), mean_of(i, b)) else {
                continue;
            };
            // What a smooth change would have done across the step: the acceleration seen
            // on both sides (the smaller of the two, so a change just outside the step does
            // not count as one), carried over one side's length.
            let (a2, b2) = (a.saturating_sub(w).max(lo), (b + w).min(hi));
            let before = (a - a2 >= w.div_ceil(2))
                .then(|| mean_of(a2, a))
                .flatten()
                .map(|(m, _)| [u[0] - m[0], u[1] - m[1]]);
            let after = (b2 - b >= w.div_ceil(2))
                .then(|| mean_of(b, b2))
                .flatten()
                .map(|(m, _)| [m[0] - v[0], m[1] - v[1]]);
            let size = |d: [f32; 2]| d[0].hypot(d[1]);
            let trend = match (before, after) {
                (Some(p), Some(q)) if p[0] * q[0] + p[1] * q[1] > 0.0 => {
                    if size(p) <= size(q) {
                        p
                    } else {
                        q
                    }
                }
                _ => [0.0; 2],
            };
            let jump = [v[0] - u[0] - trend[0], v[1] - u[1] - trend[1]];
            let step = jump[0].hypot(jump[1]) * su.min(sv);
            if step > strength[i] {
                strength[i] = step;
                let at = i.clamp(track.start, track.end() - 1) - track.start;
                bounds[i] = Some(track.things[at].bounds);
            }
        }
    }
    (strength, bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thing(x: f32, y: f32, v: Option<[f32; 2]>) -> Thing {
        Thing {
            centre: [x, y],
            bounds: [x - 0.05, y - 0.05, x + 0.05, y + 0.05],
            area: 40,
            velocity: v,
        }
    }

    /// A thing moving right at 0.5 widths per second from x = 0.3 for `frames` frames at 25
    /// fps, then, if `bounce`, left at the same speed.
    fn scene(frames: usize, bounce: bool, n: usize) -> Vec<Vec<Thing>> {
        let dt = 1.0 / 25.0;
        let mut x = 0.3f32;
        (0..n)
            .map(|i| {
                let v = if i < frames {
                    0.5
                } else if bounce {
                    -0.5
                } else {
                    return Vec::new();
                };
                x += v * dt;
                vec![thing(x, 0.3, Some([v, 0.0]))]
            })
            .collect()
    }

    #[test]
    fn a_stop_and_a_reversal_are_steps_and_steady_motion_is_not() {
        let n = 30;
        for (bounce, at_least) in [(false, 0.4), (true, 0.8)] {
            let things = scene(15, bounce, n);
            let tracks = follow(&things, &vec![false; n], 25.0);
            assert_eq!(tracks.len(), 1, "one thing, one track");
            let (steps, bounds) = motion_steps(&things, &tracks, &vec![false; n], 25.0);
            let peak = (0..n)
                .max_by(|&a, &b| steps[a].total_cmp(&steps[b]))
                .unwrap();
            assert_eq!(peak, 15, "{steps:?}");
            assert!(steps[15] >= at_least, "{steps:?}");
            assert!(bounds[15].is_some());
            assert!(steps[3..12].iter().all(|&s| s < 0.05), "{steps:?}");
        }
    }

    #[test]
    fn a_jitter_cancels_and_a_cut_ends_every_track() {
        let n = 30;
        // Back and forth every frame around one place.
        let jitter: Vec<Vec<Thing>> = (0..n)
            .map(|i| {
                let v = if i % 2 == 0 { 0.4 } else { -0.4 };
                vec![thing(0.5 + 0.008 * (i % 2) as f32, 0.3, Some([v, 0.0]))]
            })
            .collect();
        let tracks = follow(&jitter, &vec![false; n], 25.0);
        let (steps, _) = motion_steps(&jitter, &tracks, &vec![false; n], 25.0);
        assert!(steps.iter().all(|&s| s < 0.2), "{steps:?}");
        let mut cuts = vec![false; n];
        cuts[10] = true;
        let steady = scene(n, false, n);
        let tracks = follow(&steady, &cuts, 25.0);
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[1].start, 10);
        // Neither side of the cut starts or stops anything.
        let (steps, _) = motion_steps(&steady, &tracks, &cuts, 25.0);
        assert!(steps.iter().all(|&s| s < 0.05), "{steps:?}");
    }
}
