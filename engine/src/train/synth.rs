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
use crate::features::track::MotionTrack;
use crate::media::output::write_atomic;
use crate::media::{MuxOptions, RgbFrame, mux_audio, write_video};
use crate::pipeline::model::SAMPLE_RATE;
use crate::pipeline::noise::NoiseRng;

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
    /// Frame tokens (`frame_count x (grid^2 + 1)`).
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

/// A jolt of the object: onset, direction, amplitude in pixels, decay in seconds.
type Jolt = (f64, (f64, f64), f64, f64);
/// A distracting object: start position, velocity in pixels per second, colour.
type Drifter = ((f64, f64), (f64, f64), [u8; 3]);

struct Scene {
    background: Vec<u8>,
    object: [u8; 3],
    size: (f64, f64),
    rest: (f64, f64),
    flash: bool,
    jolts: Vec<Jolt>,
    distractor: Option<Drifter>,
}

impl Scene {
    fn new(onsets: &[f64], rng: &mut NoiseRng) -> Self {
        let base: [f64; 3] = [0; 3].map(|_| rng.range(30.0, 200.0));
        let tilt = rng.range(-40.0, 40.0);
        let mut background = Vec::with_capacity(WIDTH * HEIGHT * 3);
        for _ in 0..HEIGHT {
            for x in 0..WIDTH {
                let texture = rng.range(-10.0, 10.0);
                for b in base {
                    let v = b + tilt * (x as f64 / WIDTH as f64 - 0.5) + texture;
                    background.push(v.clamp(0.0, 255.0) as u8);
                }
            }
        }
        let object = base.map(|b| if b > 128.0 { rng.range(0.0, 60.0) } else { rng.range(190.0, 255.0) } as u8);
        let size = (rng.range(12.0, 36.0), rng.range(12.0, 36.0));
        let rest = (
            rng.range(20.0, WIDTH as f64 - 20.0 - size.0),
            rng.range(10.0, HEIGHT as f64 - 10.0 - size.1),
        );
        let jolts = onsets
            .iter()
            .map(|&t| {
                let angle = rng.range(0.0, std::f64::consts::TAU);
                (
                    t,
                    (angle.cos(), angle.sin()),
                    rng.range(5.0, 16.0),
                    rng.range(0.05, 0.2),
                )
            })
            .collect();
        let distractor = (rng.uniform() < 0.5).then(|| {
            let start = (rng.range(0.0, WIDTH as f64), rng.range(0.0, HEIGHT as f64));
            let speed = (rng.range(-30.0, 30.0), rng.range(-10.0, 10.0));
            (start, speed, [0; 3].map(|_| rng.range(0.0, 255.0) as u8))
        });
        Self {
            background,
            object,
            size,
            rest,
            flash: rng.uniform() < 0.3,
            jolts,
            distractor,
        }
    }

    fn fill(data: &mut [u8], (x0, y0): (f64, f64), (w, h): (f64, f64), colour: [u8; 3]) {
        let xa = x0.round().clamp(0.0, WIDTH as f64) as usize;
        let xb = (x0 + w).round().clamp(0.0, WIDTH as f64) as usize;
        let ya = y0.round().clamp(0.0, HEIGHT as f64) as usize;
        let yb = (y0 + h).round().clamp(0.0, HEIGHT as f64) as usize;
        for y in ya..yb {
            for px in data[(y * WIDTH + xa) * 3..(y * WIDTH + xb) * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&colour);
            }
        }
    }

    fn render(&self, t: f64, shake: f32, rng: &mut NoiseRng) -> RgbFrame {
        let mut data = self.background.clone();
        if let Some((start, speed, colour)) = self.distractor {
            let x = (start.0 + speed.0 * t).rem_euclid(WIDTH as f64);
            let y = (start.1 + speed.1 * t).rem_euclid(HEIGHT as f64);
            Self::fill(&mut data, (x, y), (10.0, 10.0), colour);
        }
        let (mut dx, mut dy, mut glow) = (0.0, 0.0, 0.0);
        for &(onset, (cx, cy), amp, decay) in &self.jolts {
            if t >= onset {
                let k = (-(t - onset) / decay).exp();
                if self.flash {
                    glow += 120.0 * k;
                } else {
                    dx += amp * k * cx;
                    dy += amp * k * cy;
                }
            }
        }
        let jitter = 3.0 * f64::from(shake);
        dx += jitter * rng.range(-1.0, 1.0);
        dy += jitter * rng.range(-1.0, 1.0);
        let colour = self.object.map(|c| (f64::from(c) + glow).min(255.0) as u8);
        Self::fill(
            &mut data,
            (self.rest.0 + dx, self.rest.1 + dy),
            self.size,
            colour,
        );
        for px in &mut data {
            let noise = (rng.next_u64() % 5) as i16 - 2;
            *px = (i16::from(*px) + noise).clamp(0, 255) as u8;
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
    let scene = Scene::new(&onsets, rng);
    let pictures: Vec<RgbFrame> = times
        .iter()
        .zip(&loud)
        .map(|(&t, &l)| scene.render(t, l, rng))
        .collect();
    let track = MotionTrack::from_frames(&pictures, times, rate, spec.grid);
    let clip = SynthClip {
        sound,
        frames: track.frame_tokens(0.0, spec.window_s, spec.frame_count),
        video: track.video_vector(0.0, spec.window_s),
        audio,
        onsets,
        track,
    };
    (clip, pictures, fps)
}

/// A training example built around sound `sound` of `set`.
pub fn synth_clip(set: &SoundSet, sound: usize, spec: &ClipSpec, rng: &mut NoiseRng) -> SynthClip {
    render_clip(set, sound, spec, rng).0
}

/// Write `count` evaluation clips of `spec.window_s` seconds from the validation split into
/// `out` (Matroska: the rendered picture, losslessly, with the sound as its audio track),
/// cycling through the validation sounds in a shuffled order, plus `clips.csv`
/// (`video,text,start,end`, the range being the rendered window) for `avsync eval`.
/// Returns the CSV's path.
pub fn write_eval_clips(
    set: &SoundSet,
    spec: &ClipSpec,
    count: usize,
    seed: u64,
    out: &Path,
) -> Result<PathBuf> {
    let mut pool = set.split(Split::Validation);
    if pool.is_empty() {
        return Err(Error::invalid("the sound set has no validation sounds"));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = NoiseRng::new(seed);
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.below(i + 1));
    }
    let mut csv = String::from("video,text,start,end\n");
    for k in 0..count {
        let sound = pool[k % pool.len()];
        let (clip, pictures, fps) = render_clip(set, sound, spec, &mut rng);
        let silent = out.join(format!(".clip_{k:04}.picture.mkv"));
        write_video(&silent, &pictures, fps)?;
        let name = format!("clip_{k:04}.mkv");
        let audio = AudioBuffer::new(SAMPLE_RATE, 1, clip.audio);
        let muxed = mux_audio(&silent, &audio, &out.join(&name), &MuxOptions::default());
        let _ = std::fs::remove_file(&silent);
        muxed?;
        let caption = set.index.sounds[sound].caption.replace(['"', ','], " ");
        csv.push_str(&format!("{name},{caption},0,{}\n", spec.window_s));
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

    #[test]
    fn the_picture_moves_when_the_sound_starts() {
        let spec = ClipSpec {
            window_s: 2.56,
            frame_count: 16,
            grid: 4,
        };
        let mut rng = NoiseRng::new(7);
        let burst: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.3).sin() * 0.5).collect();
        for _ in 0..5 {
            let (audio, onsets) = mix(&burst, &spec, &mut rng);
            assert_eq!(audio.len(), 40_960);
            let fps = 25.0;
            let times: Vec<f64> = (0..64).map(|k| k as f64 / fps).collect();
            let loud = loudness_at(&audio, &times, fps);
            let scene = Scene::new(&onsets, &mut rng);
            let pics: Vec<RgbFrame> = times
                .iter()
                .zip(&loud)
                .map(|(&t, &l)| scene.render(t, l, &mut rng))
                .collect();
            let track = MotionTrack::from_frames(&pics, times.clone(), fps, 4);
            // The strongest motion is within a frame of an onset, not on the distractor.
            let peak = (0..track.energy.len())
                .max_by(|&a, &b| track.energy[a].total_cmp(&track.energy[b]))
                .unwrap();
            let t = times[peak];
            assert!(
                onsets.iter().any(|&o| (t - o).abs() <= 1.5 / fps),
                "peak at {t}, onsets {onsets:?}"
            );
        }
    }
}
