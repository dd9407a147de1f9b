//! Evaluation clips the trainer never renders: a second, separately written renderer whose
//! events come from simple physics instead of random placement. A ball drops and bounces
//! under gravity, a puck slides into walls and rebounds, a hammer swings into an anvil, a
//! crate falls and lands dead; the sound is the validation recording placed at every
//! contact, louder for harder ones. Discs and bars over striped, chequered or cloudy
//! backgrounds, a handheld or panning and slowly zooming camera, a second object on a smooth
//! path, picture sizes and frame rates the training clips do not use. Timing that only
//! works on the training pictures fails here, which is the point.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::media::RgbFrame;
use crate::noise::NoiseRng;
use crate::pipeline::model::SAMPLE_RATE;
use crate::train::dataset::SoundSet;
use crate::train::synth::{caption_field, events_field, validation_order, write_clip};

/// How the sounding object moves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Physics {
    /// Dropped, bouncing with a restitution below one.
    Ball,
    /// Sliding between two walls, rebounding, slowed by friction.
    Puck,
    /// Swinging about a pivot into an anvil and back.
    Hammer,
    /// Falling and landing without a bounce.
    Crate,
}

/// Background pattern in world coordinates.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    Stripes { angle: f64, period: f64 },
    Chequer { size: f64 },
    Clouds { seed: u64 },
}

/// The object's trajectory, sampled: world position and (for the hammer) the pivot.
struct Motion {
    physics: Physics,
    /// World position of the object's centre at `t`.
    path: Vec<(f64, f64)>,
    /// Seconds per path sample.
    dt: f64,
    /// Contact times and their strength in (0, 1].
    contacts: Vec<(f64, f64)>,
    /// The hammer's pivot.
    pivot: (f64, f64),
}

/// World size in pixels (the view is smaller and moves over it).
const WORLD: (f64, f64) = (240.0, 160.0);
/// Simulation step.
const DT: f64 = 0.001;

fn simulate(physics: Physics, window_s: f64, rng: &mut NoiseRng) -> Motion {
    let steps = (window_s / DT).ceil() as usize + 2;
    let mut path = Vec::with_capacity(steps);
    let mut contacts = Vec::new();
    let floor = WORLD.1 * rng.range(0.6, 0.72);
    let mut pivot = (0.0, 0.0);
    match physics {
        Physics::Ball | Physics::Crate => {
            let g = rng.range(400.0, 1200.0);
            let e = if physics == Physics::Ball {
                rng.range(0.45, 0.8)
            } else {
                0.0
            };
            let x0 = WORLD.0 * rng.range(0.35, 0.65);
            let vx = rng.range(-20.0, 20.0);
            // Start high enough that the first landing comes after 0.15 s.
            let first = rng.range(0.15, 0.55 * window_s);
            let delay = rng.range(0.0, (first - 0.15).max(0.0));
            let fall = first - delay;
            let (mut y, mut vy) = (floor - 0.5 * g * fall * fall, 0.0);
            for k in 0..steps {
                let t = k as f64 * DT;
                path.push((x0 + vx * t, y));
                if t < delay {
                    continue;
                }
                vy += g * DT;
                y += vy * DT;
                if y >= floor && vy > 0.0 {
                    y = floor;
                    if vy > 60.0 {
                        contacts.push((t, vy));
                    }
                    vy *= -e;
                }
            }
        }
        Physics::Puck => {
            let (left, right) = (WORLD.0 * 0.25, WORLD.0 * 0.75);
            let mut x = rng.range(left + 10.0, right - 10.0);
            let mut v = rng.range(120.0, 260.0) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
            let friction = rng.range(10.0, 60.0);
            let y = floor;
            for k in 0..steps {
                let t = k as f64 * DT;
                path.push((x, y));
                v -= friction * v.signum() * DT;
                x += v * DT;
                if (x <= left && v < 0.0) || (x >= right && v > 0.0) {
                    contacts.push((t, v.abs()));
                    v *= -0.85;
                    x = x.clamp(left, right);
                }
            }
        }
        Physics::Hammer => {
            // Angle above the horizontal, where the anvil is; gravity pulls it down onto it.
            pivot = (WORLD.0 * rng.range(0.3, 0.5), floor - rng.range(0.0, 20.0));
            let arm = rng.range(35.0, 55.0);
            let mut a = rng.range(0.8, 1.4);
            let mut w = 0.0;
            let pull = rng.range(15.0, 40.0);
            // A hand lifts it back up after each blow.
            let lift = rng.range(0.25, 0.5);
            let mut lifting: Option<f64> = None;
            for k in 0..steps {
                let t = k as f64 * DT;
                path.push((pivot.0 + arm * a.cos(), pivot.1 - arm * a.sin()));
                if let Some(since) = lifting {
                    a += 3.0 * DT;
                    if t - since > lift {
                        lifting = None;
                        w = 0.0;
                    }
                    continue;
                }
                w -= pull * a.cos().max(0.2) * DT;
                a += w * DT;
                if a <= 0.0 && w < 0.0 {
                    contacts.push((t, -w));
                    a = 0.0;
                    lifting = Some(t);
                }
            }
        }
    }
    contacts.retain(|&(t, _)| t < window_s - 0.05);
    contacts.truncate(4);
    let strongest = contacts.iter().fold(1e-9f64, |m, c| m.max(c.1));
    for c in &mut contacts {
        c.1 /= strongest;
    }
    Motion {
        physics,
        path,
        dt: DT,
        contacts,
        pivot,
    }
}

impl Motion {
    fn at(&self, t: f64) -> (f64, f64) {
        let i = ((t / self.dt).round() as usize).min(self.path.len() - 1);
        self.path[i]
    }
}

/// A smooth pseudo-random field in [0, 1] (value noise on a 24 px lattice).
fn clouds(seed: u64, x: f64, y: f64) -> f64 {
    let hash = |i: i64, j: i64| {
        let mut h = seed
            ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        (h >> 11) as f64 / (1u64 << 53) as f64
    };
    let (gx, gy) = (x / 24.0, y / 24.0);
    let (i, j) = (gx.floor() as i64, gy.floor() as i64);
    let (fx, fy) = (gx - gx.floor(), gy - gy.floor());
    let s = |f: f64| f * f * (3.0 - 2.0 * f);
    let top = hash(i, j) + (hash(i + 1, j) - hash(i, j)) * s(fx);
    let bottom = hash(i, j + 1) + (hash(i + 1, j + 1) - hash(i, j + 1)) * s(fx);
    top + (bottom - top) * s(fy)
}

/// A second object on an elliptic path: centre, radii, angular rate, colour.
type Orbiter = ((f64, f64), (f64, f64), f64, [f64; 3]);

struct Shot {
    motion: Motion,
    pattern: Pattern,
    ground: [f64; 3],
    ink: [f64; 3],
    body: [f64; 3],
    radius: f64,
    /// Camera: centre at t = 0, drift per second, handheld amplitude and rate, zoom per second.
    camera: ((f64, f64), (f64, f64), f64, f64, f64),
    /// Second object: centre, radii of its elliptic path, angular rate, colour.
    other: Option<Orbiter>,
    size: (usize, usize),
}

impl Shot {
    fn new(physics: Physics, window_s: f64, rng: &mut NoiseRng) -> Self {
        let motion = simulate(physics, window_s, rng);
        let pattern = match rng.below(3) {
            0 => Pattern::Stripes {
                angle: rng.range(0.0, std::f64::consts::PI),
                period: rng.range(6.0, 30.0),
            },
            1 => Pattern::Chequer {
                size: rng.range(6.0, 24.0),
            },
            _ => Pattern::Clouds {
                seed: rng.next_u64(),
            },
        };
        let colour = |rng: &mut NoiseRng| [0; 3].map(|_| rng.range(0.0, 255.0));
        let ground = colour(rng);
        let ink = ground.map(|c| (c + rng.range(-70.0, 70.0)).clamp(0.0, 255.0));
        let body = ground.map(|c| {
            if c > 128.0 {
                rng.range(0.0, 70.0)
            } else {
                rng.range(180.0, 255.0)
            }
        });
        let size = [(160, 90), (112, 112), (144, 80)][rng.below(3)];
        let focus = motion.at(0.5 * window_s);
        let camera = match rng.below(3) {
            0 => (focus, (0.0, 0.0), 0.0, 0.0, 0.0),
            1 => (
                focus,
                (0.0, 0.0),
                rng.range(1.0, 3.5),
                rng.range(3.0, 9.0),
                0.0,
            ),
            _ => (
                focus,
                (rng.range(-15.0, 15.0), rng.range(-6.0, 6.0)),
                rng.range(0.0, 1.0),
                rng.range(3.0, 9.0),
                rng.range(-0.04, 0.04),
            ),
        };
        let other = (rng.uniform() < 0.5).then(|| {
            (
                (
                    focus.0 + rng.range(-40.0, 40.0),
                    focus.1 - rng.range(10.0, 40.0),
                ),
                (rng.range(10.0, 50.0), rng.range(5.0, 20.0)),
                rng.range(0.8, 3.0),
                colour(rng),
            )
        });
        Self {
            motion,
            pattern,
            ground,
            ink,
            body,
            radius: rng.range(5.0, 12.0),
            camera,
            other,
            size,
        }
    }

    fn background(&self, x: f64, y: f64) -> [f64; 3] {
        let k = match self.pattern {
            Pattern::Stripes { angle, period } => {
                let u = x * angle.cos() + y * angle.sin();
                0.5 + 0.5 * (std::f64::consts::TAU * u / period).sin()
            }
            Pattern::Chequer { size } => {
                f64::from(((x / size).floor() + (y / size).floor()).rem_euclid(2.0) as u8)
            }
            Pattern::Clouds { seed } => clouds(seed, x, y),
        };
        std::array::from_fn(|i| self.ground[i] + (self.ink[i] - self.ground[i]) * k)
    }

    fn render(&self, t: f64, rng: &mut NoiseRng) -> RgbFrame {
        let (w, h) = self.size;
        let (centre, drift, hand, rate, zoom) = self.camera;
        let shake = |phase: f64| {
            hand * ((rate * t + phase).sin() + 0.5 * (2.3 * rate * t + 2.0 * phase).sin())
        };
        let cx = centre.0 + drift.0 * t + shake(0.0);
        let cy = centre.1 + drift.1 * t + shake(1.7);
        // World pixels per view pixel.
        let scale = 1.0 / (1.0 + zoom * t);
        let object = self.motion.at(t);
        let other = self.other.map(|(c, (rx, ry), wr, colour)| {
            (
                (c.0 + rx * (wr * t).cos(), c.1 + ry * (wr * t).sin()),
                colour,
            )
        });
        let mut data = Vec::with_capacity(w * h * 3);
        for py in 0..h {
            for px in 0..w {
                let x = cx + (px as f64 - 0.5 * w as f64) * scale;
                let y = cy + (py as f64 - 0.5 * h as f64) * scale;
                let mut c = self.background(x, y);
                if let Some(((ox, oy), colour)) = other
                    && (x - ox).hypot(y - oy) < 7.0
                {
                    c = colour;
                }
                if self.motion.physics == Physics::Hammer {
                    // The handle: a band from the pivot to the head.
                    let (ax, ay) = (
                        object.0 - self.motion.pivot.0,
                        object.1 - self.motion.pivot.1,
                    );
                    let len2 = ax * ax + ay * ay;
                    let u = (((x - self.motion.pivot.0) * ax + (y - self.motion.pivot.1) * ay)
                        / len2.max(1e-9))
                    .clamp(0.0, 1.0);
                    let (qx, qy) = (self.motion.pivot.0 + u * ax, self.motion.pivot.1 + u * ay);
                    if (x - qx).hypot(y - qy) < 2.0 {
                        c = self.body.map(|v| 0.6 * v);
                    }
                }
                let d = (x - object.0).hypot(y - object.1);
                if d < self.radius {
                    // Shaded like a lit sphere.
                    let light = 1.0 - 0.4 * (d / self.radius).powi(2);
                    c = self.body.map(|v| v * light);
                }
                for v in c {
                    let n = rng.range(-3.0, 3.0);
                    data.push((v + n).clamp(0.0, 255.0) as u8);
                }
            }
        }
        RgbFrame {
            width: w as u32,
            height: h as u32,
            pts_s: t,
            data,
        }
    }
}

/// The window's audio: `sound` placed at each contact, scaled by the contact's strength.
fn soundtrack(sound: &[f32], contacts: &[(f64, f64)], window_s: f64) -> Vec<f32> {
    let sr = f64::from(SAMPLE_RATE);
    let n = (window_s * sr).round() as usize;
    let mut out = vec![0f32; n];
    for &(t, strength) in contacts {
        let at = ((t * sr) as usize).min(n);
        let gain = (0.25 + 0.75 * strength) as f32;
        for (o, &x) in out[at..].iter_mut().zip(sound) {
            *o += gain * x;
        }
    }
    let peak = out.iter().fold(0f32, |m, &x| m.max(x.abs()));
    if peak > 0.99 {
        out.iter_mut().for_each(|x| *x *= 0.99 / peak);
    }
    out
}

/// One unseen-family clip around `sound`: pictures, their rate and the audio.
fn shot(
    set: &SoundSet,
    sound: usize,
    window_s: f64,
    rng: &mut NoiseRng,
) -> (Vec<RgbFrame>, u32, Vec<f32>, Vec<f64>) {
    let physics = [
        Physics::Ball,
        Physics::Puck,
        Physics::Hammer,
        Physics::Crate,
    ][rng.below(4)];
    // Redraw until the physics gives at least one contact inside the window.
    let mut s = Shot::new(physics, window_s, rng);
    for _ in 0..20 {
        if !s.motion.contacts.is_empty() {
            break;
        }
        s = Shot::new(physics, window_s, rng);
    }
    let fps = [24u32, 30, 50][rng.below(3)];
    let count = (window_s * f64::from(fps)).ceil() as usize;
    let pictures = (0..count)
        .map(|k| s.render(k as f64 / f64::from(fps), rng))
        .collect();
    // Long recordings are cut so copies do not pile into one smear.
    let samples = set.samples(sound);
    let keep = samples.len().min((0.8 * f64::from(SAMPLE_RATE)) as usize);
    let audio = soundtrack(&samples[..keep], &s.motion.contacts, window_s);
    let contacts = s.motion.contacts.iter().map(|c| c.0).collect();
    (pictures, fps, audio, contacts)
}

/// Write `count` unseen-family clips of `window_s` seconds from the validation split into
/// `out` (lossless picture with the sound as its track) and `clips.csv` for `avsync eval`,
/// whose `events` column holds the contacts.
/// Returns the CSV's path.
pub fn write_unseen_clips(
    set: &SoundSet,
    window_s: f64,
    count: usize,
    seed: u64,
    out: &Path,
) -> Result<PathBuf> {
    let (pool, mut rng) = validation_order(set, seed ^ 0x5EE1_0F00_7A6E, out)?;
    let mut csv = String::from("video,text,start,end,events\n");
    for k in 0..count {
        let sound = pool[k % pool.len()];
        let (pictures, fps, audio, contacts) = shot(set, sound, window_s, &mut rng);
        let name = write_clip(out, k, &pictures, fps, audio)?;
        csv.push_str(&format!(
            "{name},{},0,{window_s},{}\n",
            caption_field(set, sound),
            events_field(&contacts)
        ));
    }
    let path = out.join("clips.csv");
    crate::media::output::write_atomic(&path, |w| w.write_all(csv.as_bytes()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::track::MotionTrack;

    #[test]
    fn every_physics_makes_contacts_in_the_window() {
        let mut rng = NoiseRng::new(11);
        for physics in [
            Physics::Ball,
            Physics::Puck,
            Physics::Hammer,
            Physics::Crate,
        ] {
            let mut hits = 0;
            for _ in 0..8 {
                let m = simulate(physics, 2.56, &mut rng);
                assert!(
                    m.contacts
                        .iter()
                        .all(|c| c.0 > 0.0 && c.0 < 2.56 && c.1 <= 1.0)
                );
                assert!(m.contacts.windows(2).all(|w| w[1].0 > w[0].0));
                hits += usize::from(!m.contacts.is_empty());
            }
            assert!(hits >= 6, "{physics:?}: {hits} of 8 runs had a contact");
        }
    }

    #[test]
    fn the_pictures_change_motion_at_the_contacts() {
        let mut rng = NoiseRng::new(5);
        let (mut near, mut total) = (0, 0);
        for _ in 0..12 {
            let physics = [Physics::Ball, Physics::Puck, Physics::Hammer][rng.below(3)];
            let mut s = Shot::new(physics, 2.56, &mut rng);
            s.camera.2 = 0.0;
            s.other = None;
            if s.motion.contacts.is_empty() {
                continue;
            }
            let fps = 30.0;
            let times: Vec<f64> = (0..77).map(|k| k as f64 / fps).collect();
            let pics: Vec<RgbFrame> = times.iter().map(|&t| s.render(t, &mut rng)).collect();
            let track = MotionTrack::from_frames(&pics, times.clone(), fps, 4);
            let peak = track.kinematics.strongest_change_frame().unwrap();
            total += 1;
            let hit = s
                .motion
                .contacts
                .iter()
                .any(|c| (times[peak] - c.0).abs() <= 2.5 / fps);
            near += usize::from(hit);
        }
        // By chance a contact would be this close in one clip of five to ten.
        assert!(total >= 8 && near * 3 >= total, "{near} of {total}");
    }
}
