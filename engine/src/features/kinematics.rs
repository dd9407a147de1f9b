//! Kinematics of a picture: the camera's motion, the motion left once it is removed, and where
//! that motion changes. Sound in the world happens where motion changes (a foot stops on the
//! floor, a ball reverses on a wall, a door starts to swing), while plain motion energy is high
//! all along a movement and also whenever the camera pans or shakes. So the picture is first
//! registered onto the previous one (a global translation found by block matching, to a
//! fraction of a pixel), then each cell of a coarse grid gets the residual change after that
//! registration and a local velocity by block matching; the frame-to-frame change of that
//! velocity is the "change of motion" that marks contacts, stops, starts and reversals.

use crate::media::RgbFrame;

use super::motion::luma_grid;

/// Width of the luma picture the kinematics are measured on (its height follows the aspect).
const LUMA_WIDTH: usize = 64;
/// Largest camera shift searched per frame, in luma pixels (1/16 of the width).
const CAMERA_RANGE: i32 = 4;
/// Largest local shift searched per frame and cell, in luma pixels.
const LOCAL_RANGE: i32 = 3;
/// A pixel has changed when its luma (0..1) differs by more than this from the registered
/// previous frame: above sensor noise and compression grain.
const CHANGED: f32 = 0.05;
/// A cell where fewer pixels changed is still.
const MIN_CHANGED: usize = 3;
/// A velocity needs at least this many changed pixels: a sliver of an edge fits any shift.
const MIN_MATCHED: usize = 12;
/// A shift explains what changed only when it leaves at most this fraction of the error of
/// standing still (uncovered background, lighting and noise do not follow any shift).
const MAX_MATCH_RATIO: f32 = 0.6;

/// What moves in a cell between two frames.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    /// Nothing changed.
    Still,
    /// Something moved at this velocity (picture widths per second).
    Moving([f32; 2]),
    /// Something changed that no shift explains.
    Unclear,
}

/// Per-frame kinematics on a `grid x grid` layout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kinematics {
    /// Camera velocity per frame in picture widths per second (`[x, y]`).
    pub camera: Vec<[f32; 2]>,
    /// Mean absolute luma change per cell after registering onto the previous frame.
    pub residual: Vec<Vec<f32>>,
    /// Change of each cell's velocity from the previous frame, in picture widths per second.
    pub change: Vec<Vec<f32>>,
    /// The things that moved since the previous frame (the first frame has none).
    pub things: Vec<Vec<Thing>>,
}

/// A region of coherent residual motion between two frames: the connected pixels that
/// changed after registering the camera, matched as one piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thing {
    /// Centre of the changed pixels, in picture widths (`[x, y]`, y in widths too).
    pub centre: [f32; 2],
    /// Bounding box `[x0, y0, x1, y1]` in fractions of the width and height.
    pub bounds: [f32; 4],
    /// Changed pixels (of the analysis picture).
    pub area: usize,
    /// Velocity in picture widths per second, when one shift explains the change (not for a
    /// flash, an appearance or a change of light).
    pub velocity: Option<[f32; 2]>,
}

/// Changed pixels this close (luma pixels) belong to one thing.
const JOIN_RADIUS: usize = 3;
/// Largest shift of a thing searched per frame, in luma pixels.
const THING_RANGE: i32 = 8;

/// `mask` grown by `r` pixels in each direction (a square), rows then columns.
fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let spread = |get: &dyn Fn(usize) -> bool, n: usize| -> Vec<bool> {
        // Within `r` of a set value, forwards and backwards.
        let mut out = vec![false; n];
        let mut last = None;
        for (i, o) in out.iter_mut().enumerate() {
            if get(i) {
                last = Some(i);
            }
            *o = last.is_some_and(|l| i - l <= r);
        }
        let mut next = None;
        for (i, o) in out.iter_mut().enumerate().rev() {
            if get(i) {
                next = Some(i);
            }
            *o |= next.is_some_and(|l| l - i <= r);
        }
        out
    };
    let mut rows = vec![false; w * h];
    for y in 0..h {
        let line = spread(&|x| mask[y * w + x], w);
        rows[y * w..(y + 1) * w].copy_from_slice(&line);
    }
    let mut out = vec![false; w * h];
    for x in 0..w {
        let column = spread(&|y| rows[y * w + x], h);
        for (y, v) in column.into_iter().enumerate() {
            out[y * w + x] = v;
        }
    }
    out
}

/// The things that moved between `prev` (registered onto `cur`) and `cur`: connected
/// components of the changed pixels, grown by `JOIN_RADIUS` so the leading and trailing
/// edges of one object join (the inside of a plain object does not change), each with at
/// least `MIN_MATCHED` changed pixels.
fn things(cur: &Luma, registered: &Luma, seen: &[bool], scale: f32) -> Vec<Thing> {
    let (w, h) = (cur.w, cur.h);
    let changed: Vec<bool> = (0..w * h)
        .map(|p| seen[p] && (cur.v[p] - registered.v[p]).abs() > CHANGED)
        .collect();
    let grown = dilate(&changed, w, h, JOIN_RADIUS);
    let mut label = vec![usize::MAX; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if !grown[start] || label[start] != usize::MAX {
            continue;
        }
        let id = out.len();
        let mut stack = vec![start];
        label[start] = id;
        let mut pixels = Vec::new();
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(p) = stack.pop() {
            let (x, y) = (p % w, p / w);
            if changed[p] {
                pixels.push((x, y));
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let q = ny as usize * w + nx as usize;
                    if grown[q] && label[q] == usize::MAX {
                        label[q] = id;
                        stack.push(q);
                    }
                }
            }
        }
        if pixels.len() < MIN_MATCHED {
            out.push(None);
            continue;
        }
        let n = pixels.len() as f32;
        let cx = pixels.iter().map(|p| p.0 as f32 + 0.5).sum::<f32>() / n;
        let cy = pixels.iter().map(|p| p.1 as f32 + 0.5).sum::<f32>() / n;
        let (d, ratio) = best_shift(cur, registered, &pixels, THING_RANGE, true);
        out.push(Some(Thing {
            centre: [cx / w as f32, cy / w as f32],
            bounds: [
                x0 as f32 / w as f32,
                y0 as f32 / h as f32,
                x1 as f32 / w as f32,
                y1 as f32 / h as f32,
            ],
            area: pixels.len(),
            // A shift at the end of the search range may be farther still: not known.
            velocity: (ratio < MAX_MATCH_RATIO
                && d[0].abs() < THING_RANGE as f32 - 0.5
                && d[1].abs() < THING_RANGE as f32 - 0.5)
                .then(|| [d[0] * scale, d[1] * scale]),
        }));
    }
    out.into_iter().flatten().collect()
}

impl Kinematics {
    /// The strongest change of motion of any cell, per frame.
    pub fn strongest_change(&self) -> Vec<f32> {
        self.change
            .iter()
            .map(|c| c.iter().fold(0f32, |m, &v| m.max(v)))
            .collect()
    }

    /// The frame where motion changes most, if there are frames.
    pub fn strongest_change_frame(&self) -> Option<usize> {
        let s = self.strongest_change();
        (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b]))
    }
}

/// A luma picture.
struct Luma {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Luma {
    fn of(frame: &RgbFrame) -> Self {
        let (fw, fh) = (frame.width.max(1) as usize, frame.height.max(1) as usize);
        let w = LUMA_WIDTH.min(fw);
        let h = (fh * w / fw).clamp(1, fh);
        Self {
            w,
            h,
            v: luma_grid(frame, w, h),
        }
    }

    /// Bilinear sample at `(x, y)`, clamped at the border.
    fn at(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let row = |yy: usize| self.v[yy * self.w + x0] * (1.0 - fx) + self.v[yy * self.w + x1] * fx;
        row(y0) * (1.0 - fy) + row(y1) * fy
    }
}

/// Mean absolute difference between `cur` at `pixels` and `prev` shifted by `(dx, dy)`
/// (`prev` sampled at `p - d`), over the pixels where both exist; `None` when fewer than a
/// quarter of them do. `both_ways` also tries each pixel the other way round (`prev` at `p`
/// against `cur` at `p + d`) and keeps the better: pixels a moving thing uncovers match
/// nothing forwards, but where it was still matches where it went.
fn sad(
    cur: &Luma,
    prev: &Luma,
    pixels: &[(usize, usize)],
    (dx, dy): (i32, i32),
    both_ways: bool,
) -> Option<f32> {
    let sample = |l: &Luma, x: i32, y: i32| {
        (x >= 0 && y >= 0 && x < l.w as i32 && y < l.h as i32)
            .then(|| l.v[y as usize * l.w + x as usize])
    };
    let (mut sum, mut n) = (0f32, 0usize);
    for &(x, y) in pixels {
        let (x, y) = (x as i32, y as i32);
        let here = |l: &Luma| l.v[y as usize * l.w + x as usize];
        let forward = sample(prev, x - dx, y - dy).map(|p| (here(cur) - p).abs());
        let backward = if both_ways {
            sample(cur, x + dx, y + dy).map(|c| (here(prev) - c).abs())
        } else {
            None
        };
        let e = match (forward, backward) {
            (Some(f), Some(b)) => f.min(b),
            (Some(e), None) | (None, Some(e)) => e,
            (None, None) => continue,
        };
        sum += e;
        n += 1;
    }
    (n > 0 && n * 4 >= pixels.len()).then(|| sum / n as f32)
}

/// The shift of `prev` within `range` that best explains `cur` at `pixels`, with a
/// parabolic refinement of each axis to a fraction of a pixel, and the ratio of its cost to
/// the cost of no shift (how much better than standing still it explains them). Ties go to
/// the smaller shift.
fn best_shift(
    cur: &Luma,
    prev: &Luma,
    pixels: &[(usize, usize)],
    range: i32,
    both_ways: bool,
) -> ([f32; 2], f32) {
    let cost = |d: (i32, i32)| sad(cur, prev, pixels, d, both_ways);
    let (mut best, mut best_cost) = ((0, 0), f32::INFINITY);
    for dy in -range..=range {
        for dx in -range..=range {
            if let Some(c) = cost((dx, dy)) {
                // Near-ties go to the smaller shift: along an edge of uniform colour every
                // shift parallel to it fits (the aperture problem), and none of them moved.
                let c = c * (1.0 + 0.05 * (dx.abs() + dy.abs()) as f32) + 1e-6;
                if c < best_cost {
                    (best, best_cost) = ((dx, dy), c);
                }
            }
        }
    }
    if !best_cost.is_finite() {
        return ([0.0; 2], 1.0);
    }
    let ratio = cost((0, 0)).map_or(1.0, |z| if z > 0.0 { best_cost / z } else { 1.0 });
    let refine = |minus: Option<f32>, plus: Option<f32>| match (minus, plus) {
        (Some(m), Some(p)) => {
            let curve = m + p - 2.0 * best_cost;
            if curve > 1e-9 {
                (0.5 * (m - p) / curve).clamp(-0.5, 0.5)
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    let fx = refine(cost((best.0 - 1, best.1)), cost((best.0 + 1, best.1)));
    let fy = refine(cost((best.0, best.1 - 1)), cost((best.0, best.1 + 1)));
    ([best.0 as f32 + fx, best.1 as f32 + fy], ratio)
}

/// `prev` moved by the camera shift `d` onto `cur`'s pixel grid (bilinear), and which pixels
/// it covers (the rest came into view with the camera's move and have no past).
fn register(prev: &Luma, d: [f32; 2]) -> (Luma, Vec<bool>) {
    let mut v = Vec::with_capacity(prev.v.len());
    let mut seen = Vec::with_capacity(prev.v.len());
    let (w, h) = ((prev.w - 1) as f32, (prev.h - 1) as f32);
    for y in 0..prev.h {
        for x in 0..prev.w {
            let (sx, sy) = (x as f32 - d[0], y as f32 - d[1]);
            v.push(prev.at(sx, sy));
            seen.push((-0.01..=w + 0.01).contains(&sx) && (-0.01..=h + 0.01).contains(&sy));
        }
    }
    (
        Luma {
            w: prev.w,
            h: prev.h,
            v,
        },
        seen,
    )
}

/// Change of motion per cell between two frames' cells. Motion is followed across
/// neighbouring cells, so a thing that glides from one cell into the next changes nothing; a
/// cell whose motion starts (nothing moved nearby before), turns or speeds up gets the
/// velocity difference, and a cell whose motion ends without carrying on into a neighbour (a
/// stop) gets the speed it had. Unclear cells neither start nor end anything.
fn change_of_motion(before: &[Cell], now: &[Cell], g: usize) -> Vec<f32> {
    let near = |c: usize| {
        let (cx, cy) = ((c % g) as i64, (c / g) as i64);
        let side = g as i64;
        (-1..=1i64)
            .flat_map(move |dy| (-1..=1i64).map(move |dx| (cx + dx, cy + dy)))
            .filter(move |&(x, y)| x >= 0 && y >= 0 && x < side && y < side)
            .map(move |(x, y)| (y * side + x) as usize)
    };
    let moving = |cells: &[Cell], n: usize| match cells[n] {
        Cell::Moving(v) => Some(v),
        _ => None,
    };
    let dist = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    (0..g * g)
        .map(|c| match (now[c], before[c]) {
            (Cell::Moving(v), _) => {
                let unclear_before = near(c).any(|n| before[n] == Cell::Unclear);
                near(c)
                    .filter_map(|n| moving(before, n))
                    .map(|u| dist(v, u))
                    .reduce(f32::min)
                    .unwrap_or(if unclear_before {
                        0.0
                    } else {
                        dist(v, [0.0; 2])
                    })
            }
            (Cell::Still, Cell::Moving(u)) => {
                let speed = dist(u, [0.0; 2]);
                let carried_on = near(c).any(|n| match now[n] {
                    Cell::Moving(v) => dist(v, u) < 0.5 * speed,
                    Cell::Unclear => true,
                    Cell::Still => false,
                });
                if carried_on { 0.0 } else { speed }
            }
            _ => 0.0,
        })
        .collect()
}

/// Cell `i` of a `g x g` layout over a `w x h` picture as `[x0, y0, x1, y1]`.
fn cell(i: usize, g: usize, w: usize, h: usize) -> [usize; 4] {
    let (gx, gy) = (i % g, i / g);
    let span = |c: usize, size: usize| {
        let a = c * size / g;
        (a, ((c + 1) * size / g).max(a + 1).min(size))
    };
    let (x0, x1) = span(gx, w);
    let (y0, y1) = span(gy, h);
    [x0, y0, x1, y1]
}

/// Kinematics of `frames` at `fps` on a `grid x grid` layout. The first frame repeats the
/// second's residual (as motion energy does) and has no change of motion.
pub fn kinematics(frames: &[RgbFrame], fps: f64, grid: usize) -> Kinematics {
    let g = grid.max(1);
    let lumas: Vec<Luma> = frames.iter().map(Luma::of).collect();
    let n = lumas.len();
    let mut out = Kinematics {
        camera: vec![[0.0; 2]; n],
        residual: vec![vec![0.0; g * g]; n],
        change: vec![vec![0.0; g * g]; n],
        things: vec![Vec::new(); n],
    };
    let mut velocity: Vec<Vec<Cell>> = vec![vec![Cell::Still; g * g]; n];
    for i in 1..n {
        let (cur, prev) = (&lumas[i], &lumas[i - 1]);
        if (cur.w, cur.h) != (prev.w, prev.h) {
            continue;
        }
        let (w, h) = (cur.w, cur.h);
        // Pixels per second in picture widths per second.
        let scale = fps as f32 / w as f32;
        let all: Vec<(usize, usize)> = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).collect();
        let (shift, _) = best_shift(cur, prev, &all, CAMERA_RANGE, false);
        out.camera[i] = [shift[0] * scale, shift[1] * scale];
        let (registered, seen) = register(prev, shift);
        out.things[i] = things(cur, &registered, &seen, scale);
        for (c, cell_now) in velocity[i].iter_mut().enumerate() {
            let [x0, y0, x1, y1] = cell(c, g, w, h);
            let mut changed = Vec::new();
            let (mut residual, mut count) = (0f32, 0usize);
            for y in y0..y1 {
                for x in x0..x1 {
                    if !seen[y * w + x] {
                        continue;
                    }
                    count += 1;
                    let d = (cur.v[y * w + x] - registered.v[y * w + x]).abs();
                    residual += d;
                    if d > CHANGED {
                        changed.push((x, y));
                    }
                }
            }
            out.residual[i][c] = residual / count.max(1) as f32;
            // The velocity of what moves: matched on the pixels that changed only, so the
            // still background of the cell does not pull it towards zero.
            *cell_now = if changed.len() < MIN_CHANGED {
                Cell::Still
            } else if changed.len() < MIN_MATCHED {
                Cell::Unclear
            } else {
                let (d, ratio) = best_shift(cur, &registered, &changed, LOCAL_RANGE, true);
                if ratio < MAX_MATCH_RATIO {
                    Cell::Moving([d[0] * scale, d[1] * scale])
                } else {
                    Cell::Unclear
                }
            };
        }
    }
    if n > 1 {
        out.residual[0] = out.residual[1].clone();
    }
    for i in 2..n {
        out.change[i] = change_of_motion(&velocity[i - 1], &velocity[i], g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured background seen through a camera at `cam`, with a bright square at `obj`
    /// (pixels of a 128 x 72 picture).
    fn picture(cam: (f64, f64), obj: Option<(f64, f64)>) -> RgbFrame {
        let (w, h) = (128usize, 72usize);
        let mut data = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let (wx, wy) = (x as f64 + cam.0, y as f64 + cam.1);
                let mut v = 100.0
                    + 60.0 * (wx * 0.21).sin() * (wy * 0.17).cos()
                    + 30.0 * (wx * 0.05 + wy * 0.09).sin();
                if let Some((ox, oy)) = obj
                    && (x as f64 - ox).abs() < 8.0
                    && (y as f64 - oy).abs() < 8.0
                {
                    v = 250.0;
                }
                data.extend([v.clamp(0.0, 255.0) as u8; 3]);
            }
        }
        RgbFrame {
            width: w as u32,
            height: h as u32,
            pts_s: 0.0,
            data,
        }
    }

    #[test]
    fn a_pan_is_the_camera_not_motion() {
        let frames: Vec<RgbFrame> = (0..6)
            .map(|k| picture((3.0 * k as f64, 1.0 * k as f64), None))
            .collect();
        let k = kinematics(&frames, 25.0, 4);
        // 3 px per frame of 128 at 25 fps = 0.586 widths per second, the scene moves left.
        for c in &k.camera[1..] {
            assert!((c[0] + 0.586).abs() < 0.06, "{:?}", k.camera);
            assert!((c[1] + 0.195).abs() < 0.06, "{:?}", k.camera);
        }
        let raw = super::super::motion::motion_grid(&frames, 4);
        let raw_mean: f32 = raw[3].iter().sum::<f32>() / 16.0;
        let res_mean: f32 = k.residual[3].iter().sum::<f32>() / 16.0;
        assert!(res_mean < 0.25 * raw_mean, "{res_mean} vs {raw_mean}");
        assert!(k.change[3].iter().all(|&a| a < 0.1), "{:?}", k.change[3]);
    }

    #[test]
    fn a_stop_is_a_change_of_motion_where_the_object_is() {
        // The square moves right 4 px a frame until frame 5, then rests.
        let x = |k: usize| 30.0 + 4.0 * k.min(5) as f64;
        let frames: Vec<RgbFrame> = (0..10)
            .map(|k| picture((0.0, 0.0), Some((x(k), 36.0))))
            .collect();
        let k = kinematics(&frames, 25.0, 4);
        let strongest = |i: usize| k.change[i].iter().fold(0f32, |m, &v| m.max(v));
        // Steady motion (frames 2-5) changes little, the stop (frame 6) a lot.
        let steady = (2..=5).map(strongest).fold(0f32, f32::max);
        let stop = strongest(6);
        assert!(
            stop > 0.5 && stop > 2.0 * steady,
            "stop {stop}, steady {steady}"
        );
        // The square sits in the second and third columns of the middle rows.
        let at = (0..16)
            .max_by(|&a, &b| k.change[6][a].total_cmp(&k.change[6][b]))
            .unwrap();
        assert!([5, 6, 9, 10].contains(&at), "cell {at}");
        // While it moves it is one thing, at its place, at 4 px of 128 per frame at 25 fps.
        assert_eq!(k.things[3].len(), 1, "{:?}", k.things[3]);
        let t = k.things[3][0];
        let v = t.velocity.expect("one shift explains it");
        assert!((v[0] - 0.78).abs() < 0.1 && v[1].abs() < 0.1, "{v:?}");
        assert!(
            (t.centre[0] - (x(3) - 2.0) as f32 / 128.0).abs() < 0.05,
            "{t:?}"
        );
        assert!(k.things[8].is_empty(), "at rest: {:?}", k.things[8]);
        assert!(
            k.camera
                .iter()
                .all(|c| c[0].abs() < 0.05 && c[1].abs() < 0.05)
        );
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(kinematics(&[], 25.0, 4), Kinematics::default());
        let one = kinematics(&[picture((0.0, 0.0), None)], 25.0, 2);
        assert_eq!(one.residual, vec![vec![0.0; 4]]);
        let tiny = RgbFrame {
            width: 1,
            height: 1,
            pts_s: 0.0,
            data: vec![9; 3],
        };
        let k = kinematics(&[tiny.clone(), tiny], 25.0, 4);
        assert_eq!(k.change.len(), 2);
    }
}
