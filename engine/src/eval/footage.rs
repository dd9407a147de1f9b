//! Footage with no sound events, made from real photographs: what a picker must leave alone.
//! A still shot with sensor noise, a pan, a zoom, a handheld camera, cuts between shots,
//! traffic far away, a crowd milling about and light changing. Each photograph is filmed by a
//! virtual camera (centre, field of view and roll per frame, sampled bilinearly from the
//! photograph decoded at a higher resolution than the clip), so the motion is the camera's
//! and only smooth; every event picked on these clips is a false one.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::media::{RgbFrame, VideoReader, probe, write_video};
use crate::noise::NoiseRng;
use crate::pipeline::clips::files_with_extensions;

/// Clip size: 16:9, above the 128-pixel analysis width so the decoder scales as it does
/// for real footage.
const CLIP_SIZE: (u32, u32) = (320, 180);
/// Width the photographs are decoded at: pans and zooms stay sharp.
const PHOTO_WIDTH: u32 = 960;

/// What happens in a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// A locked-off camera: only sensor noise changes.
    Still,
    /// A smooth pan with a little tilt, easing in and out.
    Pan,
    /// A slow push in.
    Zoom,
    /// A handheld camera: low-frequency sway, roll and a fine tremor.
    Handheld,
    /// Three shots of different photographs, each drifting, joined by hard cuts.
    Cuts,
    /// Small vehicles crossing far away at steady speeds.
    Traffic,
    /// Many small figures milling about, changing direction only smoothly.
    Crowd,
    /// The light dims and recovers as a cloud passes, the white balance drifting.
    Lighting,
}

impl Scene {
    /// Every scene, in the order clips cycle through them.
    pub const ALL: [Scene; 8] = [
        Scene::Still,
        Scene::Pan,
        Scene::Zoom,
        Scene::Handheld,
        Scene::Cuts,
        Scene::Traffic,
        Scene::Crowd,
        Scene::Lighting,
    ];

    /// Its name in file names and tables.
    pub fn name(self) -> &'static str {
        match self {
            Scene::Still => "still",
            Scene::Pan => "pan",
            Scene::Zoom => "zoom",
            Scene::Handheld => "handheld",
            Scene::Cuts => "cuts",
            Scene::Traffic => "traffic",
            Scene::Crowd => "crowd",
            Scene::Lighting => "lighting",
        }
    }
}

/// Where the camera looks at one moment, in photograph pixels.
#[derive(Debug, Clone, Copy)]
struct View {
    centre: (f64, f64),
    /// Width of the photograph the frame shows.
    width: f64,
    /// Roll in radians.
    roll: f64,
}

/// A sum of sinusoids: smooth random motion with a spectrum between `lo` and `hi` Hz.
struct Sway {
    parts: Vec<(f64, f64, f64)>,
}

impl Sway {
    fn new(lo: f64, hi: f64, rng: &mut NoiseRng) -> Self {
        let parts = (0..4)
            .map(|_| {
                let f = rng.range(lo, hi);
                (f, rng.range(0.0, std::f64::consts::TAU), 1.0 / f.sqrt())
            })
            .collect();
        Self { parts }
    }

    /// Value at `t`, about unit amplitude.
    fn at(&self, t: f64) -> f64 {
        let norm: f64 = self.parts.iter().map(|p| p.2).sum();
        self.parts
            .iter()
            .map(|&(f, ph, a)| a * (std::f64::consts::TAU * f * t + ph).sin())
            .sum::<f64>()
            / norm
    }
}

/// Smoothstep ease from 0 to 1 over `u` in [0, 1].
fn ease(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * (3.0 - 2.0 * u)
}

/// A photograph as linear RGB rows, sampled bilinearly.
struct Photo {
    frame: RgbFrame,
}

impl Photo {
    fn load(path: &Path) -> Result<Self> {
        let info = probe(path)?;
        let video = info
            .video
            .as_ref()
            .ok_or_else(|| Error::media(path, "is not a picture"))?;
        let w = PHOTO_WIDTH.min(video.width.max(1) * 2);
        let h = ((u64::from(video.height) * u64::from(w) / u64::from(video.width.max(1))) as u32)
            .max(1);
        let frame = VideoReader::open(path)?.frame_at(0.0, w, h)?;
        Ok(Self { frame })
    }

    fn size(&self) -> (f64, f64) {
        (f64::from(self.frame.width), f64::from(self.frame.height))
    }

    fn sample(&self, x: f64, y: f64) -> [f64; 3] {
        let (w, h) = (self.frame.width as usize, self.frame.height as usize);
        let x = x.clamp(0.0, (w - 1) as f64);
        let y = y.clamp(0.0, (h - 1) as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let px = |xx: usize, yy: usize, c: usize| f64::from(self.frame.data[(yy * w + xx) * 3 + c]);
        [0, 1, 2].map(|c| {
            let top = px(x0, y0, c) * (1.0 - fx) + px(x1, y0, c) * fx;
            let bottom = px(x0, y1, c) * (1.0 - fx) + px(x1, y1, c) * fx;
            top * (1.0 - fy) + bottom * fy
        })
    }

    /// The frame the camera sees through `view`, as floating-point RGB.
    fn film(&self, view: View) -> Vec<[f64; 3]> {
        let (cw, ch) = (f64::from(CLIP_SIZE.0), f64::from(CLIP_SIZE.1));
        let scale = view.width / cw;
        let (s, c) = view.roll.sin_cos();
        let mut out = Vec::with_capacity((CLIP_SIZE.0 * CLIP_SIZE.1) as usize);
        for y in 0..CLIP_SIZE.1 {
            for x in 0..CLIP_SIZE.0 {
                let (u, v) = (
                    (f64::from(x) + 0.5 - cw / 2.0) * scale,
                    (f64::from(y) + 0.5 - ch / 2.0) * scale,
                );
                out.push(self.sample(view.centre.0 + c * u - s * v, view.centre.1 + s * u + c * v));
            }
        }
        out
    }

    /// A view of `fraction` of the photograph's width (at most what its height allows)
    /// centred on it.
    fn framing(&self, fraction: f64) -> View {
        let (w, h) = self.size();
        let width = (w * fraction).min(h * 16.0 / 9.0 * 0.98);
        View {
            centre: (w / 2.0, h / 2.0),
            width,
            roll: 0.0,
        }
    }
}

/// A small thing moving over the picture, in clip pixels.
struct Mover {
    start: (f64, f64),
    /// Pixels per second.
    velocity: (f64, f64),
    size: f64,
    colour: [f64; 3],
    /// A figure's wandering; vehicles go straight.
    sway: Option<(Sway, Sway)>,
}

/// Small things moving over the picture.
struct Movers {
    items: Vec<Mover>,
}

impl Movers {
    fn traffic(rng: &mut NoiseRng) -> Self {
        let (cw, ch) = (f64::from(CLIP_SIZE.0), f64::from(CLIP_SIZE.1));
        let lane = rng.range(0.45, 0.75) * ch;
        let items = (0..4 + rng.below(5))
            .map(|k| {
                let dir = if k % 2 == 0 { 1.0 } else { -1.0 };
                let speed = rng.range(15.0, 45.0) * dir;
                let y = lane + if dir > 0.0 { 0.0 } else { 6.0 };
                let x = rng.range(-0.2, 1.2) * cw;
                let grey = rng.range(30.0, 230.0);
                Mover {
                    start: (x, y),
                    velocity: (speed, 0.0),
                    size: rng.range(3.0, 6.0),
                    colour: [grey, grey * rng.range(0.8, 1.1), grey * rng.range(0.8, 1.1)],
                    sway: None,
                }
            })
            .collect();
        Self { items }
    }

    fn crowd(rng: &mut NoiseRng) -> Self {
        let (cw, ch) = (f64::from(CLIP_SIZE.0), f64::from(CLIP_SIZE.1));
        let items = (0..20 + rng.below(21))
            .map(|_| {
                let grey = rng.range(20.0, 200.0);
                Mover {
                    start: (rng.range(0.05, 0.95) * cw, rng.range(0.55, 0.95) * ch),
                    velocity: (rng.range(-8.0, 8.0), rng.range(-2.0, 2.0)),
                    size: rng.range(2.0, 4.0),
                    colour: [grey, grey * rng.range(0.7, 1.2), grey * rng.range(0.7, 1.2)],
                    sway: Some((Sway::new(0.1, 0.4, rng), Sway::new(0.1, 0.4, rng))),
                }
            })
            .collect();
        Self { items }
    }

    /// Draw each mover at time `t` (soft-edged rectangles, twice as wide as tall for
    /// vehicles, upright for figures).
    fn draw(&self, t: f64, frame: &mut [[f64; 3]]) {
        let (cw, ch) = (CLIP_SIZE.0 as i64, CLIP_SIZE.1 as i64);
        for Mover {
            start: (x0, y0),
            velocity: (vx, vy),
            size,
            colour,
            sway,
        } in &self.items
        {
            let (mut x, mut y) = (x0 + vx * t, y0 + vy * t);
            let (hw, hh) = match sway {
                // Figures wander: an integrated sway of 10 pixels.
                Some((sx, sy)) => {
                    x += 10.0 * sx.at(t);
                    y += 3.0 * sy.at(t);
                    (size * 0.5, *size)
                }
                None => (*size, size * 0.5),
            };
            let wrap = cw as f64 * 1.4;
            let x = (x + 0.2 * cw as f64).rem_euclid(wrap) - 0.2 * cw as f64;
            for py in (y - hh - 1.0).floor() as i64..=(y + hh + 1.0).ceil() as i64 {
                for px in (x - hw - 1.0).floor() as i64..=(x + hw + 1.0).ceil() as i64 {
                    if px < 0 || py < 0 || px >= cw || py >= ch {
                        continue;
                    }
                    let cover = ((hw + 0.5 - (px as f64 + 0.5 - x).abs()).clamp(0.0, 1.0))
                        * ((hh + 0.5 - (py as f64 + 0.5 - y).abs()).clamp(0.0, 1.0));
                    let p = &mut frame[(py * cw + px) as usize];
                    for c in 0..3 {
                        p[c] = p[c] * (1.0 - cover) + colour[c] * cover;
                    }
                }
            }
        }
    }
}

/// The frames of one clip of `scene` over `photos` (at least one; cuts use three).
fn render(
    scene: Scene,
    photos: &[Photo],
    seconds: f64,
    fps: u32,
    rng: &mut NoiseRng,
) -> Vec<RgbFrame> {
    let count = (seconds * f64::from(fps)).round() as usize;
    let pick = |rng: &mut NoiseRng| rng.below(photos.len());
    let first = pick(rng);
    let shots: Vec<usize> = match scene {
        Scene::Cuts => {
            let mut s = vec![first];
            while s.len() < 3 {
                let p = pick(rng);
                if photos.len() < 3 || !s.contains(&p) {
                    s.push(p);
                }
            }
            s
        }
        _ => vec![first],
    };
    let cut_at = [
        rng.range(0.25, 0.42) * seconds,
        rng.range(0.58, 0.75) * seconds,
    ];
    let (sway_x, sway_y, sway_r) = (
        Sway::new(0.3, 1.5, rng),
        Sway::new(0.3, 1.5, rng),
        Sway::new(0.2, 1.0, rng),
    );
    let (tremor_x, tremor_y) = (Sway::new(5.0, 9.0, rng), Sway::new(5.0, 9.0, rng));
    let pan_dir = if rng.below(2) == 0 { 1.0 } else { -1.0 };
    let pan_tilt = rng.range(-0.05, 0.05);
    let zoom_to = rng.range(0.6, 0.8);
    let drift = (rng.range(-0.02, 0.02), rng.range(-0.01, 0.01));
    let movers = match scene {
        Scene::Traffic => Some(Movers::traffic(rng)),
        Scene::Crowd => Some(Movers::crowd(rng)),
        _ => None,
    };
    let cloud = (rng.range(0.2, 0.5) * seconds, rng.range(0.4, 0.6));
    let sigma = rng.range(2.0, 5.0);
    (0..count)
        .map(|k| {
            let t = k as f64 / f64::from(fps);
            let shot = cut_at
                .iter()
                .filter(|&&c| t >= c)
                .count()
                .min(shots.len() - 1);
            let photo = &photos[shots[shot]];
            let (pw, _) = photo.size();
            let mut view = photo.framing(0.6);
            let span = view.width;
            match scene {
                Scene::Pan => {
                    let u = ease(t / seconds) - 0.5;
                    view.centre.0 += pan_dir * 0.5 * span * u;
                    view.centre.1 += pan_tilt * span * u;
                }
                Scene::Zoom => view.width *= 1.0 - (1.0 - zoom_to) * ease(t / seconds),
                Scene::Handheld => {
                    view.centre.0 += span * (0.02 * sway_x.at(t) + 0.002 * tremor_x.at(t));
                    view.centre.1 += span * (0.015 * sway_y.at(t) + 0.002 * tremor_y.at(t));
                    view.roll = 0.01 * sway_r.at(t);
                }
                Scene::Cuts => {
                    view.centre.0 += span * drift.0 * t;
                    view.centre.1 += span * drift.1 * t;
                }
                Scene::Traffic | Scene::Crowd => {
                    // A camera on a tripod in the wind.
                    view.centre.0 += span * 0.002 * sway_x.at(t);
                    view.centre.1 += span * 0.002 * sway_y.at(t);
                }
                Scene::Still | Scene::Lighting => {}
            }
            view.centre.0 = view.centre.0.clamp(0.0, pw);
            let mut pixels = photo.film(view);
            if let Some(m) = &movers {
                m.draw(t, &mut pixels);
            }
            let (gain, tint) = if scene == Scene::Lighting {
                let u = ((t - cloud.0) / (0.5 * seconds)).clamp(0.0, 1.0);
                let dip = (std::f64::consts::PI * u).sin().powi(2);
                (1.0 - (1.0 - cloud.1) * dip, 0.06 * dip)
            } else {
                (1.0, 0.0)
            };
            let mut data = Vec::with_capacity(pixels.len() * 3);
            for p in &pixels {
                let shade = [gain * (1.0 - tint), gain, gain * (1.0 + tint)];
                for c in 0..3 {
                    let v = p[c] * shade[c] + sigma * f64::from(rng.normal());
                    data.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
            RgbFrame {
                width: CLIP_SIZE.0,
                height: CLIP_SIZE.1,
                pts_s: t,
                data,
            }
        })
        .collect()
}

/// Photographs in `dir` (png, jpg), sorted by name.
pub fn photographs(dir: &Path) -> Result<Vec<PathBuf>> {
    let out = files_with_extensions(dir, &["png", "jpg", "jpeg"])?;
    if out.is_empty() {
        return Err(Error::media(dir, "holds no photographs (png or jpg)"));
    }
    Ok(out)
}

/// Write `count` clips of `seconds` each into `out`, cycling through the scenes over the
/// photographs in `photos`, and `clips.csv` (`video,text,start,end,events` with no events).
/// Returns the CSV's path.
pub fn write_footage(
    photos: &Path,
    count: usize,
    seconds: f64,
    seed: u64,
    out: &Path,
) -> Result<PathBuf> {
    let loaded = photographs(photos)?
        .iter()
        .map(|p| Photo::load(p))
        .collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = NoiseRng::new(seed ^ 0xF00_7A6E);
    let mut csv = String::from("video,text,start,end,events\n");
    for k in 0..count {
        let scene = Scene::ALL[k % Scene::ALL.len()];
        let fps = [24u32, 25, 30][rng.below(3)];
        let frames = render(scene, &loaded, seconds, fps, &mut rng);
        let name = format!("{}_{k:03}.mkv", scene.name());
        write_video(&out.join(&name), &frames, fps)?;
        csv.push_str(&format!("{name},,0,{seconds},\n"));
    }
    let path = out.join("clips.csv");
    crate::media::output::write_atomic(&path, |w| w.write_all(csv.as_bytes()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> Photo {
        let (w, h) = (200u32, 120u32);
        let data = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let v = (128.0
                        + 100.0 * (f64::from(x) * 0.2).sin() * (f64::from(y) * 0.15).cos())
                        as u8;
                    [v, v / 2, 255 - v]
                })
            })
            .collect();
        Photo {
            frame: RgbFrame {
                width: w,
                height: h,
                pts_s: 0.0,
                data,
            },
        }
    }

    #[test]
    fn every_scene_renders_whole_frames_and_only_cuts_jump() {
        let photos = [photo(), photo(), photo()];
        let mut rng = NoiseRng::new(4);
        for scene in Scene::ALL {
            let frames = render(scene, &photos, 1.0, 25, &mut rng);
            assert_eq!(frames.len(), 25, "{scene:?}");
            assert!(frames.iter().all(|f| f.data.len() == 320 * 180 * 3));
            // Consecutive frames differ by noise and smooth motion only.
            let step = |a: &RgbFrame, b: &RgbFrame| {
                a.data
                    .iter()
                    .zip(&b.data)
                    .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
                    .sum::<f64>()
                    / a.data.len() as f64
            };
            let largest = frames
                .windows(2)
                .map(|w| step(&w[0], &w[1]))
                .fold(0.0, f64::max);
            if scene != Scene::Cuts {
                assert!(largest < 40.0, "{scene:?}: {largest}");
            }
        }
    }
}
