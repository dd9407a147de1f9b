//! The motion track of a clip range: motion energy, a coarse motion grid and the mean colour
//! at every frame of the picture's own rate. It is computed once per clip and range (decoding
//! at thumbnail size), and everything timing-related derives from it: the sync verifier's
//! motion curve, the editor's overlay, and the default model's frame and video features.

use std::path::Path;

use crate::error::{Error, Result};
use crate::media::{RgbFrame, VideoReader, probe};

use super::cuts::shot_cuts;
use super::kinematics::{Kinematics, kinematics};
use super::motion::{motion_energy, motion_grid};

/// Width of the analysis pictures; motion is measured on a 32 x 32 grid, so more is waste.
const ANALYSIS_WIDTH: u32 = 128;
/// Frame rates above this are analysed at this rate (a hit lasts longer than 1/60 s).
const MAX_ANALYSIS_FPS: f64 = 60.0;

/// Per-frame motion of a clip range, sampled at the picture's frame rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionTrack {
    /// Analysis rate (the clip's average frame rate, at most 60).
    pub fps: f64,
    /// Frame times in seconds from the start of the clip.
    pub times: Vec<f64>,
    /// Motion energy per frame.
    pub energy: Vec<f32>,
    /// Side of the motion grid.
    pub grid: usize,
    /// `grid * grid` motion cells per frame, row-major.
    pub cells: Vec<Vec<f32>>,
    /// Mean RGB in [0, 1] per frame.
    pub colour: Vec<[f32; 3]>,
    /// Camera motion, residual motion and change of motion per frame, on the same grid.
    pub kinematics: Kinematics,
    /// Whether each frame starts a new shot (a cut from the previous frame).
    pub cuts: Vec<bool>,
}

/// Which per-frame motion statistics a model's frame tokens carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionTokens {
    /// Raw motion energy per cell and overall (`grid^2 + 1` per token): the first default
    /// model's features.
    Energy,
    /// Motion after removing the camera's, and the change of motion, per cell, plus the
    /// overall residual, the strongest change and the camera's speed (`2 grid^2 + 3`).
    Kinematic,
    /// [`MotionTokens::Kinematic`] plus an event track (`2 grid^2 + 5`): whether an event
    /// (picked from the picture, tapped or marked by the user) falls in the slot, and where
    /// in the slot. Explicit events are what transfers from rendered pictures to footage:
    /// the statistics around an event differ between pictures, the event itself does not.
    Events,
}

impl MotionTokens {
    /// Values per token for a grid side.
    pub fn width(self, grid: usize) -> usize {
        match self {
            Self::Energy => grid * grid + 1,
            Self::Kinematic => 2 * grid * grid + 3,
            Self::Events => 2 * grid * grid + 5,
        }
    }
}

/// The event track of a window split into `count` slots, written into `rows` (each token's
/// last two values): 1 where an event falls in the slot, and its position in the slot in
/// [0, 1). `events` are in seconds of the clip, like `start_s`.
fn write_event_track(rows: &mut [f32], width: usize, events: &[f64], start_s: f64, window_s: f64) {
    let count = rows.len() / width;
    let slot = window_s / count.max(1) as f64;
    for &t in events {
        let u = (t - start_s) / slot;
        if !(u.is_finite() && u >= 0.0 && u < count as f64) {
            continue;
        }
        let k = u as usize;
        let row = &mut rows[k * width..(k + 1) * width];
        if row[width - 2] == 0.0 {
            row[width - 2] = 1.0;
            row[width - 1] = (u - k as f64) as f32;
        }
    }
}

/// `ln(1 + 100 m)`: motion energy spans orders of magnitude, and the adapters' normalisation
/// must not blow up a still picture's noise.
fn compress_energy(m: f32) -> f32 {
    (1.0 + 100.0 * m).ln()
}

/// `ln(1 + 10 v)` for velocities in picture widths per second (a brisk movement is about 1).
fn compress_velocity(v: f32) -> f32 {
    (1.0 + 10.0 * v).ln()
}

impl MotionTrack {
    /// Analyse `[start_s, end_s)` of the video at `path`. The range is checked against the
    /// clip: it must be non-empty and start inside the picture.
    pub fn analyse(path: &Path, (start_s, end_s): (f64, f64), grid: usize) -> Result<Self> {
        let info = probe(path)?;
        let video = info
            .video
            .as_ref()
            .ok_or_else(|| Error::media(path, "has no video stream"))?;
        if !(start_s >= 0.0 && end_s > start_s) {
            return Err(Error::invalid(format!(
                "the range {start_s:.3}-{end_s:.3} s is empty or negative"
            )));
        }
        let duration = video.duration_s;
        if start_s >= duration {
            return Err(Error::media(
                path,
                format!(
                    "the range starts at {start_s:.3} s, after the clip's end ({duration:.3} s)"
                ),
            ));
        }
        let fps = if video.avg_fps.is_finite() && video.avg_fps > 0.0 {
            video.avg_fps.min(MAX_ANALYSIS_FPS)
        } else {
            25.0
        };
        let end = end_s.min(duration);
        let n = (((end - start_s) * fps).round() as usize).max(1);
        let times: Vec<f64> = (0..n).map(|k| start_s + k as f64 / fps).collect();
        let (w, h) = (video.width.max(1), video.height.max(1));
        let aw = ANALYSIS_WIDTH.min(w);
        let ah = ((u64::from(h) * u64::from(aw) / u64::from(w)) as u32).max(1);
        // Each frame is read half a frame after its time: a container whose timestamps are
        // rounded (Matroska's milliseconds at 24 fps) puts some frames just after their
        // nominal time, where reading at the time itself would repeat the previous picture.
        let mid: Vec<f64> = times.iter().map(|t| t + 0.5 / fps).collect();
        let mut reader = VideoReader::open(path)?;
        let frames = reader.frames_at(&mid, aw, ah)?;
        Ok(Self::from_frames(&frames, times, fps, grid))
    }

    /// The track of frames already decoded (or rendered) at `times`, `fps` apart.
    pub fn from_frames(frames: &[RgbFrame], times: Vec<f64>, fps: f64, grid: usize) -> Self {
        let colour = frames
            .iter()
            .map(|f| {
                let mut sum = [0f64; 3];
                for p in f.data.chunks_exact(3) {
                    for c in 0..3 {
                        sum[c] += f64::from(p[c]);
                    }
                }
                let px = (f.data.len() / 3).max(1) as f64 * 255.0;
                sum.map(|s| (s / px) as f32)
            })
            .collect();
        let kinematics = kinematics(frames, fps, grid);
        Self {
            fps,
            energy: motion_energy(frames),
            cells: motion_grid(frames, grid),
            cuts: shot_cuts(frames, &kinematics.residual),
            kinematics,
            grid,
            colour,
            times,
        }
    }

    /// Frames in the track.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the track has no frames.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Indices of the frames inside `[a, b)`.
    fn span(&self, a: f64, b: f64) -> std::ops::Range<usize> {
        let i = self.times.partition_point(|&t| t < a - 1e-9);
        let j = self.times.partition_point(|&t| t < b - 1e-9);
        i..j.max(i)
    }

    /// Frame tokens for a model window `[start_s, start_s + window_s)` split into `count`
    /// equal slots: per slot, the maximum over its frames of each statistic of `kind`,
    /// compressed (energies as `ln(1 + 100 m)`, velocities as `ln(1 + 10 v)`). Slots past the
    /// end of the clip are zero. `events` (seconds of the clip) feed the event track of
    /// [`MotionTokens::Events`] and are ignored by the other kinds. `count x
    /// kind.width(grid)` values, slot-major.
    pub fn frame_tokens(
        &self,
        kind: MotionTokens,
        start_s: f64,
        window_s: f64,
        count: usize,
        events: &[f64],
    ) -> Vec<f32> {
        let cells = self.grid * self.grid;
        let width = kind.width(self.grid);
        let mut out = vec![0f32; count * width];
        for (slot, row) in out.chunks_exact_mut(width).enumerate() {
            let a = start_s + slot as f64 * window_s / count as f64;
            let b = start_s + (slot + 1) as f64 * window_s / count as f64;
            for k in self.span(a, b) {
                match kind {
                    MotionTokens::Energy => {
                        for (v, &c) in row.iter_mut().zip(&self.cells[k]) {
                            *v = v.max(compress_energy(c));
                        }
                        row[cells] = row[cells].max(compress_energy(self.energy[k]));
                    }
                    MotionTokens::Kinematic | MotionTokens::Events => {
                        let kin = &self.kinematics;
                        let (residual, change) = row.split_at_mut(cells);
                        for (v, &c) in residual.iter_mut().zip(&kin.residual[k]) {
                            *v = v.max(compress_energy(c));
                        }
                        let (change, rest) = change.split_at_mut(cells);
                        let overall = &mut rest[..3];
                        for (v, &c) in change.iter_mut().zip(&kin.change[k]) {
                            *v = v.max(compress_velocity(c));
                        }
                        let mean = kin.residual[k].iter().sum::<f32>() / cells.max(1) as f32;
                        let strongest = kin.change[k].iter().fold(0f32, |m, &c| m.max(c));
                        let [cx, cy] = kin.camera[k];
                        let stats = [
                            compress_energy(mean),
                            compress_velocity(strongest),
                            compress_velocity(cx.hypot(cy)),
                        ];
                        for (v, s) in overall.iter_mut().zip(stats) {
                            *v = v.max(s);
                        }
                    }
                }
            }
        }
        if kind == MotionTokens::Events {
            write_event_track(&mut out, width, events, start_s, window_s);
        }
        out
    }

    /// Visual event strength per frame (see [`super::events::evidence`]): peaks where
    /// something hits, stops, turns or starts, not along a steady movement, a camera move or
    /// a cut; what the sync verifier lines sound onsets up with.
    pub fn events(&self) -> Vec<f32> {
        super::events::evidence(self).strength
    }

    /// The global video vector of a window: mean and maximum of each compressed motion cell,
    /// mean colour and its spread over time, and the fraction of the window the clip covers.
    /// `2 grid^2 + 7` values.
    pub fn video_vector(&self, start_s: f64, window_s: f64) -> Vec<f32> {
        let cells = self.grid * self.grid;
        let span = self.span(start_s, start_s + window_s);
        let n = span.len().max(1) as f32;
        let mut mean = vec![0f32; cells];
        let mut max = vec![0f32; cells];
        let mut colour = [0f32; 3];
        for k in span.clone() {
            for (i, &c) in self.cells[k].iter().enumerate() {
                let v = compress_energy(c);
                mean[i] += v / n;
                max[i] = max[i].max(v);
            }
            for (acc, c) in colour.iter_mut().zip(self.colour[k]) {
                *acc += c / n;
            }
        }
        let mut spread = [0f32; 3];
        for k in span.clone() {
            for ((acc, c), m) in spread.iter_mut().zip(self.colour[k]).zip(colour) {
                *acc += (c - m).powi(2) / n;
            }
        }
        let covered = span.len() as f32 / (window_s * self.fps).max(1.0) as f32;
        let mut out = mean;
        out.extend(max);
        out.extend(colour);
        out.extend(spread.map(f32::sqrt));
        out.push(covered.min(1.0));
        out
    }

    /// Length of [`MotionTrack::video_vector`] for a grid side.
    pub fn video_vector_width(grid: usize) -> usize {
        2 * grid * grid + 7
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(energy: &[f32]) -> MotionTrack {
        MotionTrack {
            fps: 10.0,
            times: (0..energy.len()).map(|k| k as f64 / 10.0).collect(),
            energy: energy.to_vec(),
            grid: 1,
            cells: energy.iter().map(|&e| vec![e]).collect(),
            colour: vec![[0.5; 3]; energy.len()],
            kinematics: Kinematics {
                camera: vec![[0.3, 0.4]; energy.len()],
                residual: energy.iter().map(|&e| vec![e]).collect(),
                change: energy.iter().map(|&e| vec![2.0 * e]).collect(),
                things: vec![Vec::new(); energy.len()],
            },
            cuts: vec![false; energy.len()],
        }
    }

    #[test]
    fn tokens_pool_each_slot_and_zero_past_the_end() {
        let t = track(&[0.0, 0.5, 0.0, 0.0, 0.1, 0.0]);
        let tok = t.frame_tokens(MotionTokens::Energy, 0.0, 0.8, 4, &[0.1]);
        assert_eq!(tok.len(), 4 * 2);
        let f = |m: f32| (1.0 + 100.0 * m).ln();
        assert_eq!(&tok[..2], &[f(0.5), f(0.5)]);
        assert_eq!(&tok[2..4], &[0.0, 0.0]);
        assert_eq!(&tok[4..6], &[f(0.1), f(0.1)]);
        assert_eq!(&tok[6..], &[0.0, 0.0], "beyond the clip");
        let v = t.video_vector(0.0, 1.2);
        assert_eq!(v.len(), MotionTrack::video_vector_width(1));
        assert!((v[8] - 0.5).abs() < 1e-6, "six of twelve frames covered");
        let kin = t.frame_tokens(MotionTokens::Kinematic, 0.0, 0.8, 4, &[]);
        assert_eq!(kin.len(), 4 * MotionTokens::Kinematic.width(1));
        let g = |v: f32| (1.0 + 10.0 * v).ln();
        assert_eq!(&kin[..5], &[f(0.5), g(1.0), f(0.5), g(1.0), g(0.5)]);
        assert_eq!(
            &kin[5..10],
            &[0.0, 0.0, 0.0, 0.0, g(0.5)],
            "only the camera moves"
        );
        assert_eq!(&kin[15..], &[0.0; 5], "beyond the clip");
        let ev = t.frame_tokens(
            MotionTokens::Events,
            0.0,
            0.8,
            4,
            &[0.25, 0.3, 0.7, 0.9, -0.1],
        );
        let w = MotionTokens::Events.width(1);
        assert_eq!(ev.len(), 4 * w);
        for slot in 0..4 {
            assert_eq!(&ev[slot * w..slot * w + 5], &kin[slot * 5..slot * 5 + 5]);
        }
        let track: Vec<[f32; 2]> = (0..4).map(|k| [ev[k * w + 5], ev[k * w + 6]]).collect();
        assert_eq!(track[0], [0.0, 0.0]);
        assert_eq!(track[1][0], 1.0, "the first event of a slot marks it");
        assert!((track[1][1] - 0.25).abs() < 1e-6);
        assert_eq!(track[2], [0.0, 0.0]);
        assert_eq!(track[3][0], 1.0, "events outside the window are ignored");
        assert!((track[3][1] - 0.5).abs() < 1e-6);
    }
}
