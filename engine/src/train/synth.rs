//! Synthetic training clips. The sound libraries have no picture, so each training example is
//! a window in which one recording is placed one to three times at random moments, and a small
//! rendered video shows an object that jolts (or flashes) at exactly those moments and shakes
//! with the sound's loudness while it lasts, over a textured background with sensor noise and,
//! in half the clips, a second object drifting smoothly as a distraction (motion without a
//! sound). The pictures go through the same motion-feature path as real footage
//! ([`MotionTrack::from_frames`]), so the model learns timing from the features it will see,
//! and since the placement is random, only the picture says when the sound happens.

use std::path::{Path, PathBuf};

use super::dataset::{SoundSet, Split};
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::features::track::{MotionTokens, MotionTrack};
use crate::media::output::write_atomic;
use crate::media::{MuxOptions, RgbFrame, mux_audio, write_video};
use crate::noise::NoiseRng;
use crate::pipeline::model::SAMPLE_RATE;

/// Rendered picture size (the analysis path works at 128 px wide).
const WIDTH: usize = 128;
const HEIGHT: usize = 72;

/// The shape of the examples.
#[derive(Debug, Clone, Copy)]
pub struct ClipSpec {
    /// Window length in seconds.
    pub window_s: f64,
    /// Frame tokens per window.
    pub frame_count: usize,
    /// Motion grid side.
    pub grid: usize,
    /// Which motion statistics the frame tokens carry.
    pub tokens: MotionTokens,
}

/// One training example.
#[derive(Debug, Clone)]
pub struct SynthClip {
    /// Sound index in the set.
    pub sound: usize,
    /// The window's audio at the model rate.
    pub audio: Vec<f32>,
    /// Where each placed copy starts, in seconds.
    pub onsets: Vec<f64>,
    /// Frame tokens (`frame_count x tokens.width(grid)`).
    pub frames: Vec<f32>,
    /// Global video vector.
    pub video: Vec<f32>,
    /// The motion track of the rendered picture (for scoring and checks).
    pub track: MotionTrack,
}

/// Onset times for `n` copies of a `len_s` sound in a `window_s` window, at least `gap_s`
/// apart, in increasing order (fewer when they do not fit).
fn place(n: usize, len_s: f64, window_s: f64, rng: &mut NoiseRng) -> Vec<f64> {
    let gap = (0.8 * len_s + 0.15).min(window_s);
    let mut onsets: Vec<f64> = Vec::new();
    for _ in 0..40 {
        if onsets.len() == n {
            break;
        }
        let t = rng.range(0.0, (window_s - 0.1).max(0.05));
        if onsets.iter().all(|&o| (o - t).abs() >= gap) {
            onsets.push(t);
        }
    }
    onsets.sort_by(f64::total_cmp);
    onsets
}

/// Mix the copies of `sound` into a window; returns the audio and the onsets.
fn mix(sound: &[f32], spec: &ClipSpec, rng: &mut NoiseRng) -> (Vec<f32>, Vec<f64>) {
    let sr = f64::from(SAMPLE_RATE);
    let n = (spec.window_s * sr).round() as usize;
    let len_s = sound.len() as f64 / sr;
    let mut out = vec![0f32; n];
    let (source, onsets) = if len_s > 0.6 * spec.window_s {
        // A long sound: one copy, a random excerpt starting early in the window.
        let onset = rng.range(0.0, 0.3 * spec.window_s);
        let keep = ((spec.window_s - onset) * sr) as usize;
        let start = rng.below(sound.len().saturating_sub(keep).max(1));
        (&sound[start..], vec![onset])
    } else {
        let fit = ((spec.window_s / (len_s + 0.2)) as usize).clamp(1, 3);
        let count = 1 + rng.below(fit);
        (sound, place(count, len_s, spec.window_s, rng))
    };
    for &t in &onsets {
        let gain = 10f32.powf(rng.range(-4.0, 0.0) as f32 / 20.0);
        let at = (t * sr) as usize;
        for (o, &x) in out[at.min(n)..].iter_mut().zip(source) {
            *o += gain * x;
        }
    }
    let peak = out.iter().fold(0f32, |m, &x| m.max(x.abs()));
    if peak > 0.99 {
        out.iter_mut().for_each(|x| *x *= 0.99 / peak);
    }
    (out, onsets)
}

/// Loudness of `audio` around each of `times` (RMS over one frame period), scaled to peak 1.
fn loudness_at(audio: &[f32], times: &[f64], fps: f64) -> Vec<f32> {
    let sr = f64::from(SAMPLE_RATE);
    let half = (0.5 * sr / fps) as usize;
    let rms: Vec<f32> = times
        .iter()
        .map(|&t| {
            let c = (t * sr) as usize;
            let s = &audio[c.saturating_sub(half).min(audio.len())..(c + half).min(audio.len())];
            (s.iter().map(|x| x * x).sum::<f32>() / s.len().max(1) as f32).sqrt()
        })
        .collect();
    let max = rms.iter().fold(1e-6f32, |m, &x| m.max(x));
    rms.iter().map(|x| x / max).collect()
}

/// How the sounding object moves around its events. Every law changes the object's motion
/// abruptly at an event and only smoothly elsewhere: a sound is where motion changes at once.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Law {
    /// At rest, knocked at each event, settling back.
    Jolt,
    /// At rest, lighting up at each event.
    Flash,
    /// Falls onto a surface and bounces between events, landing at each one.
    Bounce,
    /// Glides (easing in) and stops dead at each event.
    Stop,
    /// At rest until each event, when it sets off at speed and slows down.
    Launch,
}

/// How the camera moves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Camera {
    Still,
    /// Constant velocity in pixels per second, turning back at the edge of the scene.
    Pan((f64, f64)),
    /// Handheld: sums of slow sines per axis (amplitude, frequency, phase) plus jitter.
    Shake([(f64, f64, f64); 2], f64),
}

/// Rendered scene margin around the view, so the camera has room to move.
const MARGIN: usize = 24;
const SCENE_W: usize = WIDTH + 2 * MARGIN;
const SCENE_H: usize = HEIGHT + 2 * MARGIN;

/// A distracting object: start position, velocity in pixels per second, size, colour, and
/// the amplitude and frequency of a sway across its path (motion without a sound).
type Drifter = ((f64, f64), (f64, f64), f64, [u8; 3], (f64, f64));

struct Scene {
    /// Backgrounds before and after the cut (the same when there is none).
    backgrounds: [Vec<u8>; 2],
    /// When the picture cuts to the second background, if it does.
    cut: Option<f64>,
    object: [u8; 3],
    size: (f64, f64),
    /// Resting place in scene pixels, before and after the cut.
    rest: [(f64, f64); 2],
    law: Law,
    onsets: Vec<f64>,
    /// Per event: direction (unit vector) and distance in pixels.
    kicks: Vec<((f64, f64), f64)>,
    /// Jolt decay or launch slowing time, seconds.
    decay: f64,
    camera: Camera,
    distractor: Option<Drifter>,
    /// A bar sliding over the picture in front of everything: x at t = 0, speed, width.
    occluder: Option<(f64, f64, f64, [u8; 3])>,
    /// Slow lighting change: gain slope per second.
    light: f64,
    /// Sensor noise amplitude.
    grain: u64,
}

fn texture(rng: &mut NoiseRng) -> (Vec<u8>, [f64; 3]) {
    let base: [f64; 3] = [0; 3].map(|_| rng.range(30.0, 200.0));
    let tilt = rng.range(-40.0, 40.0);
    let grain = rng.range(4.0, 16.0);
    let mut background = Vec::with_capacity(SCENE_W * SCENE_H * 3);
    for _ in 0..SCENE_H {
        for x in 0..SCENE_W {
            let texture = rng.range(-grain, grain);
            for b in base {
                let v = b + tilt * (x as f64 / SCENE_W as f64 - 0.5) + texture;
                background.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    (background, base)
}

/// A unit vector at a random angle.
fn direction(rng: &mut NoiseRng) -> (f64, f64) {
    let angle = rng.range(0.0, std::f64::consts::TAU);
    (angle.cos(), angle.sin())
}

impl Scene {
    fn new(onsets: &[f64], window_s: f64, rng: &mut NoiseRng) -> Self {
        let (first, base) = texture(rng);
        let cut = (rng.uniform() < 0.15).then(|| rng.range(0.2, window_s - 0.2));
        let second = if cut.is_some() {
            texture(rng).0
        } else {
            first.clone()
        };
        let object = base.map(|b| if b > 128.0 { rng.range(0.0, 60.0) } else { rng.range(190.0, 255.0) } as u8);
        let scale = rng.range(0.3, 1.0);
        let size = (rng.range(16.0, 48.0) * scale, rng.range(16.0, 48.0) * scale);
        let place = |rng: &mut NoiseRng| {
            (
                rng.range(
                    MARGIN as f64 + 16.0,
                    (SCENE_W - MARGIN) as f64 - 16.0 - size.0,
                ),
                rng.range(
                    MARGIN as f64 + 8.0,
                    (SCENE_H - MARGIN) as f64 - 8.0 - size.1,
                ),
            )
        };
        let rest = [place(rng), place(rng)];
        let law = match rng.uniform() {
            u if u < 0.25 => Law::Jolt,
            u if u < 0.35 => Law::Flash,
            u if u < 0.65 => Law::Bounce,
            u if u < 0.85 => Law::Stop,
            _ => Law::Launch,
        };
        // Bounces mostly fall downwards, as under gravity.
        let fall = {
            let (x, y) = direction(rng);
            let (x, y) = (0.4 * x, -(0.6 + 0.4 * y.abs()));
            let n = x.hypot(y);
            (x / n, y / n)
        };
        let reach = rng.range(5.0, 30.0) * scale.sqrt();
        let kicks = onsets
            .iter()
            .map(|_| {
                let d = if law == Law::Bounce {
                    fall
                } else {
                    direction(rng)
                };
                (d, reach * rng.range(0.5, 1.0))
            })
            .collect();
        let camera = match rng.uniform() {
            u if u < 0.5 => Camera::Still,
            u if u < 0.75 => Camera::Pan((rng.range(-25.0, 25.0), rng.range(-10.0, 10.0))),
            _ => {
                let amp = rng.range(0.5, 4.0);
                let mut axis = || {
                    (
                        amp * rng.range(0.3, 1.0),
                        rng.range(0.5, 4.0),
                        rng.range(0.0, 6.3),
                    )
                };
                Camera::Shake([axis(), axis()], rng.range(0.0, 1.5))
            }
        };
        let distractor = (rng.uniform() < 0.5).then(|| {
            let start = (
                rng.range(0.0, SCENE_W as f64),
                rng.range(0.0, SCENE_H as f64),
            );
            let speed = (rng.range(-40.0, 40.0), rng.range(-15.0, 15.0));
            let sway = (rng.range(0.0, 12.0), rng.range(0.3, 2.0));
            let colour = [0; 3].map(|_| rng.range(0.0, 255.0) as u8);
            (start, speed, rng.range(6.0, 24.0), colour, sway)
        });
        let occluder = (rng.uniform() < 0.15).then(|| {
            let speed = rng.range(20.0, 60.0) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
            let x0 = if speed > 0.0 { -20.0 } else { SCENE_W as f64 };
            let colour = [0; 3].map(|_| rng.range(0.0, 255.0) as u8);
            (x0, speed, rng.range(8.0, 24.0), colour)
        });
        let light = if rng.uniform() < 0.15 {
            rng.range(-0.2, 0.2)
        } else {
            0.0
        };
        Self {
            backgrounds: [first, second],
            cut,
            object,
            size,
            rest,
            law,
            onsets: onsets.to_vec(),
            kicks,
            decay: rng.range(0.05, 0.25),
            camera,
            distractor,
            occluder,
            light,
            grain: 1 + rng.below(6) as u64,
        }
    }

    fn fill(data: &mut [u8], (x0, y0): (f64, f64), (w, h): (f64, f64), colour: [u8; 3]) {
        let xa = x0.round().clamp(0.0, SCENE_W as f64) as usize;
        let xb = (x0 + w).round().clamp(0.0, SCENE_W as f64) as usize;
        let ya = y0.round().clamp(0.0, SCENE_H as f64) as usize;
        let yb = (y0 + h).round().clamp(0.0, SCENE_H as f64) as usize;
        for y in ya..yb {
            for px in data[(y * SCENE_W + xa) * 3..(y * SCENE_W + xb) * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&colour);
            }
        }
    }

    /// The object's displacement from rest and its glow at `t`.
    fn pose(&self, t: f64) -> ((f64, f64), f64) {
        let n = self.onsets.len();
        // The last event at or before t, and the next one.
        let k = self.onsets.partition_point(|&o| o <= t);
        let prev = k.checked_sub(1);
        let along = |i: usize, h: f64| (self.kicks[i].0.0 * h, self.kicks[i].0.1 * h);
        match self.law {
            Law::Jolt | Law::Flash => {
                let (mut d, mut glow) = ((0.0, 0.0), 0.0);
                for (i, &o) in self.onsets[..k].iter().enumerate() {
                    let e = (-(t - o) / self.decay).exp();
                    if self.law == Law::Flash {
                        glow += 120.0 * e;
                    } else {
                        let (x, y) = along(i, self.kicks[i].1 * e);
                        d = (d.0 + x, d.1 + y);
                    }
                }
                (d, glow)
            }
            Law::Bounce => {
                // Height above the surface: a parabola between landings, a fall before the
                // first, at rest after the last.
                let h = match (prev, (k < n).then_some(k)) {
                    (None, Some(next)) => {
                        // Released at rest, landing at full speed.
                        let fall = 0.45;
                        let u = (1.0 - (self.onsets[next] - t) / fall).max(0.0);
                        self.kicks[next].1 * (1.0 - u * u)
                    }
                    (Some(i), Some(next)) => {
                        let span = self.onsets[next] - self.onsets[i];
                        let s = (t - self.onsets[i]) / span;
                        4.0 * self.kicks[next].1 * s * (1.0 - s) * (span / 0.6).min(1.0)
                    }
                    _ => 0.0,
                };
                (along(k.min(n.saturating_sub(1)), h), 0.0)
            }
            Law::Stop => {
                // Glide into the next stop from the last one: speeding up smoothly, then
                // stopping dead at the event.
                let base = self.moved_by(k);
                if k == n {
                    return (base, 0.0);
                }
                let from = prev.map_or(-0.5, |i| self.onsets[i]);
                let travel = (0.6 * (self.onsets[k] - from)).clamp(0.1, 0.8);
                let u = (1.0 - (self.onsets[k] - t) / travel).clamp(0.0, 1.0);
                const EASE: f64 = 0.4;
                let run = if u < EASE {
                    u * u / (2.0 * EASE)
                } else {
                    u - EASE / 2.0
                };
                let (x, y) = along(k, self.kicks[k].1 * run / (1.0 - EASE / 2.0));
                ((base.0 + x, base.1 + y), 0.0)
            }
            Law::Launch => {
                // Set off at each event at full speed, slowing down.
                let Some(i) = prev else {
                    return ((0.0, 0.0), 0.0);
                };
                let base = self.moved_by(i);
                let go = 1.0 - (-(t - self.onsets[i]) / self.decay).exp();
                let (x, y) = along(i, self.kicks[i].1 * go);
                ((base.0 + x, base.1 + y), 0.0)
            }
        }
    }

    /// Where the first `events` kicks have moved the object, for laws that travel.
    fn moved_by(&self, events: usize) -> (f64, f64) {
        self.kicks[..events]
            .iter()
            .fold((0.0, 0.0), |(x, y), &((dx, dy), r)| {
                (x + dx * r, y + dy * r)
            })
    }

    /// Where the view's top-left corner is in the scene at `t`.
    fn view(&self, t: f64, rng: &mut NoiseRng) -> (f64, f64) {
        let m = MARGIN as f64;
        match self.camera {
            Camera::Still => (m, m),
            Camera::Pan((vx, vy)) => {
                let bounce = |p: f64| {
                    let p = p.rem_euclid(4.0 * m);
                    if p < 2.0 * m { p } else { 4.0 * m - p }
                };
                (bounce(m + vx * t), bounce(m + vy * t))
            }
            Camera::Shake(axes, jitter) => {
                let [ax, ay] =
                    axes.map(|(a, f, ph)| a * (std::f64::consts::TAU * f * t + ph).sin());
                (
                    m + ax + jitter * rng.range(-1.0, 1.0),
                    m + ay + jitter * rng.range(-1.0, 1.0),
                )
            }
        }
    }

    fn render(&self, t: f64, shake: f32, rng: &mut NoiseRng) -> RgbFrame {
        let after_cut = self.cut.is_some_and(|c| t >= c);
        let mut scene = self.backgrounds[usize::from(after_cut)].clone();
        if let Some((start, speed, size, colour, (sway, freq))) = self.distractor {
            let side = sway * (std::f64::consts::TAU * freq * t).sin();
            let x = (start.0 + speed.0 * t).rem_euclid(SCENE_W as f64);
            let y = (start.1 + speed.1 * t + side).rem_euclid(SCENE_H as f64);
            Self::fill(&mut scene, (x, y), (size, size), colour);
        }
        let ((mut dx, mut dy), glow) = self.pose(t);
        let jitter = 3.0 * f64::from(shake);
        dx += jitter * rng.range(-1.0, 1.0);
        dy += jitter * rng.range(-1.0, 1.0);
        let colour = self.object.map(|c| (f64::from(c) + glow).min(255.0) as u8);
        let rest = self.rest[usize::from(after_cut)];
        Self::fill(&mut scene, (rest.0 + dx, rest.1 + dy), self.size, colour);
        if let Some((x0, speed, w, colour)) = self.occluder {
            Self::fill(
                &mut scene,
                (x0 + speed * t, 0.0),
                (w, SCENE_H as f64),
                colour,
            );
        }
        let (vx, vy) = self.view(t, rng);
        let (vx, vy) = (
            vx.round().clamp(0.0, (SCENE_W - WIDTH) as f64) as usize,
            vy.round().clamp(0.0, (SCENE_H - HEIGHT) as f64) as usize,
        );
        let gain = 1.0 + self.light * t;
        let mut data = Vec::with_capacity(WIDTH * HEIGHT * 3);
        for y in vy..vy + HEIGHT {
            data.extend_from_slice(&scene[(y * SCENE_W + vx) * 3..(y * SCENE_W + vx + WIDTH) * 3]);
        }
        let spread = 2 * self.grain + 1;
        for px in &mut data {
            let noise = (rng.next_u64() % spread) as f64 - self.grain as f64;
            *px = (f64::from(*px) * gain + noise).clamp(0.0, 255.0) as u8;
        }
        RgbFrame {
            width: WIDTH as u32,
            height: HEIGHT as u32,
            pts_s: t,
            data,
        }
    }
}

/// A clip around sound `sound` of `set`, with its rendered pictures and their rate.
pub fn render_clip(
    set: &SoundSet,
    sound: usize,
    spec: &ClipSpec,
    rng: &mut NoiseRng,
) -> (SynthClip, Vec<RgbFrame>, u32) {
    let (audio, onsets) = mix(set.samples(sound), spec, rng);
    let fps = [24u32, 25, 30][rng.below(3)];
    let rate = f64::from(fps);
    let count = (spec.window_s * rate).ceil() as usize;
    let times: Vec<f64> = (0..count).map(|k| k as f64 / rate).collect();
    let loud = loudness_at(&audio, &times, rate);
    let scene = Scene::new(&onsets, spec.window_s, rng);
    let pictures: Vec<RgbFrame> = times
        .iter()
        .zip(&loud)
        .map(|(&t, &l)| scene.render(t, l, rng))
        .collect();
    let track = MotionTrack::from_frames(&pictures, times, rate, spec.grid);
    let marked = match spec.tokens {
        MotionTokens::Events => marked_events(&onsets, rate, rng),
        _ => Vec::new(),
    };
    let clip = SynthClip {
        sound,
        frames: track.frame_tokens(spec.tokens, 0.0, spec.window_s, spec.frame_count, &marked),
        video: track.video_vector(0.0, spec.window_s),
        audio,
        onsets,
        track,
    };
    (clip, pictures, fps)
}

/// Chance that an event is missing from the event track, so that the picture itself still
/// counts.
const EVENT_MISS: f64 = 0.1;

/// The event track a training clip shows: the placed onsets, each moved by up to one frame
/// (an event picked from the picture lands on a frame; a tap is that coarse too) and a few
/// left out.
fn marked_events(onsets: &[f64], fps: f64, rng: &mut NoiseRng) -> Vec<f64> {
    onsets
        .iter()
        .filter_map(|&t| {
            let shift = rng.range(-1.0, 1.0) / fps;
            (rng.uniform() > EVENT_MISS).then_some((t + shift).max(0.0))
        })
        .collect()
}

/// A training example built around sound `sound` of `set`.
pub fn synth_clip(set: &SoundSet, sound: usize, spec: &ClipSpec, rng: &mut NoiseRng) -> SynthClip {
    render_clip(set, sound, spec, rng).0
}

/// The validation sounds in an order shuffled by `seed`, the generator that shuffled them
/// (it goes on to draw the clips), and `out` created for the clips.
pub(crate) fn validation_order(
    set: &SoundSet,
    seed: u64,
    out: &Path,
) -> Result<(Vec<usize>, NoiseRng)> {
    let mut pool = set.split(Split::Validation);
    if pool.is_empty() {
        return Err(Error::invalid("the sound set has no validation sounds"));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = NoiseRng::new(seed);
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.below(i + 1));
    }
    Ok((pool, rng))
}

/// Write evaluation clip `k` into `out`: `pictures` at `fps`, losslessly, with `audio` (at
/// the model rate) as its track. Returns the file name.
pub(crate) fn write_clip(
    out: &Path,
    k: usize,
    pictures: &[RgbFrame],
    fps: u32,
    audio: Vec<f32>,
) -> Result<String> {
    let silent = out.join(format!(".clip_{k:04}.picture.mkv"));
    write_video(&silent, pictures, fps)?;
    let name = format!("clip_{k:04}.mkv");
    let audio = AudioBuffer::new(SAMPLE_RATE, 1, audio);
    let muxed = mux_audio(&silent, &audio, &out.join(&name), &MuxOptions::default());
    let _ = std::fs::remove_file(&silent);
    muxed?;
    Ok(name)
}

/// Event times as a `clips.csv` field: seconds to the millisecond, separated by spaces.
pub(crate) fn events_field(times: &[f64]) -> String {
    let fields: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
    fields.join(" ")
}

/// Sound `sound`'s caption as a CSV field.
pub(crate) fn caption_field(set: &SoundSet, sound: usize) -> String {
    set.index.sounds[sound].caption.replace(['"', ','], " ")
}

/// Write `count` evaluation clips of `spec.window_s` seconds from the validation split into
/// `out` (Matroska: the rendered picture, losslessly, with the sound as its audio track),
/// cycling through the validation sounds in a shuffled order, plus `clips.csv`
/// (`video,text,start,end,events`, the range being the rendered window and the events the
/// moments the picture's motion changes) for `avsync eval`.
/// Returns the CSV's path.
pub fn write_eval_clips(
    set: &SoundSet,
    spec: &ClipSpec,
    count: usize,
    seed: u64,
    out: &Path,
) -> Result<PathBuf> {
    let (pool, mut rng) = validation_order(set, seed, out)?;
    let mut csv = String::from("video,text,start,end,events\n");
    for k in 0..count {
        let sound = pool[k % pool.len()];
        let (clip, pictures, fps) = render_clip(set, sound, spec, &mut rng);
        let name = write_clip(out, k, &pictures, fps, clip.audio)?;
        csv.push_str(&format!(
            "{name},{},0,{},{}\n",
            caption_field(set, sound),
            spec.window_s,
            events_field(&clip.onsets)
        ));
    }
    let path = out.join("clips.csv");
    write_atomic(&path, |w| w.write_all(csv.as_bytes()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_onsets_keep_their_gap_and_order() {
        let mut rng = NoiseRng::new(3);
        for _ in 0..50 {
            let o = place(3, 0.5, 5.12, &mut rng);
            assert!(!o.is_empty() && o.len() <= 3);
            assert!(o.windows(2).all(|w| w[1] - w[0] >= 0.55));
            assert!(o.iter().all(|&t| (0.0..5.12).contains(&t)));
        }
    }

    /// Acceleration of the object's pose (pixels per second squared) at `t`.
    fn acceleration(scene: &Scene, t: f64) -> f64 {
        let dt = 0.005;
        let p = |t: f64| scene.pose(t).0;
        let (a, b, c) = (p(t - dt), p(t), p(t + dt));
        (a.0 - 2.0 * b.0 + c.0).hypot(a.1 - 2.0 * b.1 + c.1) / (dt * dt)
    }

    #[test]
    fn motion_changes_at_once_only_at_the_events() {
        let onsets = [0.5, 1.3, 2.0];
        let mut rng = NoiseRng::new(7);
        for law in [Law::Jolt, Law::Bounce, Law::Stop, Law::Launch] {
            for _ in 0..4 {
                let mut scene = Scene::new(&onsets, 2.56, &mut rng);
                scene.law = law;
                let (mut at, mut elsewhere) = (0f64, 0f64);
                for i in 1..256 {
                    let t = i as f64 / 100.0;
                    let a = acceleration(&scene, t);
                    let gap = onsets.iter().map(|&o| (o - t).abs()).fold(9.0, f64::min);
                    if gap <= 0.01 {
                        at = at.max(a);
                    } else if gap > 0.06 {
                        elsewhere = elsewhere.max(a);
                    }
                }
                assert!(
                    at > 5.0 * elsewhere,
                    "{law:?}: {at} at events, {elsewhere} elsewhere"
                );
            }
        }
    }

    #[test]
    fn the_change_of_motion_marks_the_events() {
        let spec = ClipSpec {
            window_s: 2.56,
            frame_count: 16,
            grid: 4,
            tokens: MotionTokens::Kinematic,
        };
        let mut rng = NoiseRng::new(7);
        let burst: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.3).sin() * 0.5).collect();
        let (mut near, mut total) = (0, 0);
        for _ in 0..24 {
            let (audio, onsets) = mix(&burst, &spec, &mut rng);
            assert_eq!(audio.len(), 40_960);
            let fps = 25.0;
            let times: Vec<f64> = (0..64).map(|k| k as f64 / fps).collect();
            let loud = loudness_at(&audio, &times, fps);
            let scene = Scene::new(&onsets, spec.window_s, &mut rng);
            if scene.law == Law::Flash || scene.cut.is_some() {
                continue;
            }
            let pics: Vec<RgbFrame> = times
                .iter()
                .zip(&loud)
                .map(|(&t, &l)| scene.render(t, l, &mut rng))
                .collect();
            let track = MotionTrack::from_frames(&pics, times.clone(), fps, 4);
            let peak = track.kinematics.strongest_change_frame().unwrap();
            total += 1;
            near += usize::from(onsets.iter().any(|&o| (times[peak] - o).abs() <= 2.5 / fps));
        }
        // Camera shake, distractors, occluders and the object's own rattle while it sounds
        // compete; still, in most clips the strongest change of motion is at an event (by
        // chance, one in five to ten).
        assert!(total >= 10 && near * 2 >= total, "{near} of {total}");
    }
}
