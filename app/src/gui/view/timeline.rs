//! The timeline: thumbnails, in/out range, motion curve, playhead, and the selected
//! candidate's spectrogram.

use avsync_engine::dsp::mel::{MelSpectrogram, hz_to_mel};
use avsync_engine::features::track::MotionTrack;
use eframe::egui::{self, Color32, ColorImage, Pos2, Rect, Sense, Stroke, TextureOptions, Vec2};

use super::{STRIP_HEIGHT, StudioApp};

/// Half the width of a marker's handle, points.
const MARKER_HANDLE: f32 = 5.0;
/// Height of the ruler band (in/out range, marker handles), points.
const RULER_HEIGHT: f32 = 20.0;

impl StudioApp {
    pub(super) fn timeline(&mut self, ui: &mut egui::Ui) {
        let Some(clip) = &self.studio.clip else {
            return;
        };
        let duration = clip.duration.max(1e-3);
        let fps = clip.rate.fps();
        ui.horizontal(|ui| {
            if ui.button("Zoom in").clicked() {
                self.zoom = (self.zoom * 2.0).min(256.0);
            }
            if ui.button("Zoom out").clicked() {
                self.zoom = (self.zoom / 2.0).max(1.0);
            }
            ui.label(format!("x{:.0}", self.zoom));
        });
        // The visible span follows the playhead when zoomed in.
        let span = duration / self.zoom;
        let start = (self.studio.playhead - span / 2.0).clamp(0.0, duration - span);
        let lanes = self.studio.candidates.len();
        let strip = if self.thumbnails.is_empty() {
            0.0
        } else {
            STRIP_HEIGHT
        };
        let height = 24.0 + strip + 36.0 * lanes as f32;
        let (rect, response) = ui.allocate_exact_size(
            Vec2::new(ui.available_width(), height),
            Sense::click_and_drag(),
        );
        let painter = ui.painter_at(rect);
        let x_of = |t: f64| rect.left() + ((t - start) / span) as f32 * rect.width();
        let t_of = |x: f32| start + f64::from((x - rect.left()) / rect.width()) * span;
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        // In/out range.
        let (a, b) = self.studio.range;
        painter.rect_filled(
            Rect::from_min_max(
                Pos2::new(x_of(a), rect.top()),
                Pos2::new(x_of(b), rect.top() + RULER_HEIGHT),
            ),
            0.0,
            Color32::from_rgba_unmultiplied(80, 140, 220, 60),
        );
        // Ruler: seconds, and frames once they are far enough apart to read.
        let stroke = Stroke::new(1.0, ui.visuals().weak_text_color());
        let frame_px = rect.width() as f64 / (span * fps);
        let (step, tall) = if frame_px >= 6.0 {
            (1.0 / fps, (fps.round() as usize).max(1))
        } else {
            (1.0, 1)
        };
        let first = (start / step).floor() as usize;
        let last = ((start + span) / step).ceil() as usize;
        for k in first..=last {
            let x = x_of(k as f64 * step);
            let h = if k % tall == 0 { 10.0 } else { 4.0 };
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.top() + h)],
                stroke,
            );
        }
        // Thumbnail strip: each picture from its time to the next one's.
        for (k, (t, tex)) in self.thumbnails.iter().enumerate() {
            let next = self.thumbnails.get(k + 1).map_or(duration, |(n, _)| *n);
            let r = Rect::from_min_max(
                Pos2::new(x_of(*t), rect.top() + 22.0),
                Pos2::new(x_of(next), rect.top() + 22.0 + STRIP_HEIGHT - 2.0),
            );
            if r.right() >= rect.left() && r.left() <= rect.right() {
                painter.image(
                    tex.id(),
                    r,
                    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
        }
        // One lane per candidate: its peak envelope per pixel column.
        let columns = rect.width().max(1.0) as usize;
        let per_column = span / columns as f64;
        for (i, c) in self.studio.candidates.iter().enumerate() {
            let mid = rect.top() + 40.0 + strip + 36.0 * i as f32;
            let colour = if self.studio.selected == Some(i) {
                Color32::from_rgb(120, 200, 120)
            } else {
                Color32::from_rgb(110, 150, 110)
            };
            let audio = &c.rendered.audio;
            // Each lane is drawn to its own peak, so quiet candidates stay readable.
            let top = audio.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
            let begin = c.range.0 + c.edits.nudge_frames as f64 / fps;
            for col in 0..columns {
                let x = rect.left() + col as f32;
                let t = t_of(x) - begin;
                let i0 = (t * 16_000.0).floor();
                let i1 = ((t + per_column) * 16_000.0).ceil();
                if i1 <= 0.0 || i0 >= audio.len() as f64 {
                    continue;
                }
                let (i0, i1) = (i0.max(0.0) as usize, (i1 as usize).min(audio.len()));
                let peak = audio[i0..i1.max(i0 + 1).min(audio.len())]
                    .iter()
                    .fold(0f32, |m, v| m.max(v.abs()))
                    / top;
                painter.line_segment(
                    [
                        Pos2::new(x, mid - 15.0 * peak),
                        Pos2::new(x, mid + 15.0 * peak),
                    ],
                    Stroke::new(1.0, colour),
                );
            }
        }
        // Motion energy of the picture, so hits can be lined up by eye.
        if let Some(track) = &self.motion {
            let points = motion_points(
                track,
                (start - 1.0, start + span + 1.0),
                x_of,
                (rect.bottom() - 2.0, height - 4.0),
            );
            painter.add(egui::Shape::line(
                points,
                Stroke::new(1.0, Color32::from_rgba_unmultiplied(240, 200, 60, 160)),
            ));
        }
        // Event markers: a line through every lane, a handle in the ruler.
        let marker_colour = Color32::from_rgb(80, 200, 230);
        for t in self.studio.markers.times() {
            let x = x_of(*t);
            if x < rect.left() || x > rect.right() {
                continue;
            }
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, marker_colour),
            );
            painter.add(egui::Shape::convex_polygon(
                vec![
                    Pos2::new(x - MARKER_HANDLE, rect.top()),
                    Pos2::new(x + MARKER_HANDLE, rect.top()),
                    Pos2::new(x, rect.top() + 2.0 * MARKER_HANDLE),
                ],
                marker_colour,
                Stroke::NONE,
            ));
        }
        // Playhead.
        let x = x_of(self.studio.playhead);
        painter.line_segment(
            [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
            Stroke::new(2.0, Color32::from_rgb(230, 80, 60)),
        );
        self.timeline_pointer(&response, rect, (start, span), duration);
    }

    /// Pointer on the timeline: drag a marker's handle to move it, right-click a marker to
    /// delete it, double-click the ruler to add one; anywhere else sets the playhead.
    fn timeline_pointer(
        &mut self,
        response: &egui::Response,
        rect: Rect,
        (start, span): (f64, f64),
        duration: f64,
    ) {
        let Some(rate) = self.studio.clip.as_ref().map(|c| c.rate) else {
            return;
        };
        let t_of = |x: f32| start + f64::from((x - rect.left()) / rect.width()) * span;
        let tolerance = f64::from(MARKER_HANDLE) / f64::from(rect.width().max(1.0)) * span;
        let Some(p) = response.interact_pointer_pos() else {
            self.dragged_marker = None;
            return;
        };
        let t = t_of(p.x).clamp(0.0, duration);
        let in_ruler = p.y <= rect.top() + RULER_HEIGHT;
        if response.secondary_clicked() {
            if let Some(i) = self.studio.markers.nearest(t, tolerance) {
                self.studio.markers.remove(i);
            }
            return;
        }
        if response.double_clicked() && in_ruler {
            self.studio.markers.add(t, rate);
            return;
        }
        if response.drag_started() && in_ruler {
            self.dragged_marker = self.studio.markers.nearest(t, tolerance);
        }
        if let Some(i) = self.dragged_marker {
            self.dragged_marker = self.studio.markers.move_to(i, t, rate);
            if response.drag_stopped() {
                self.dragged_marker = None;
            }
            return;
        }
        self.studio.playhead = t;
        self.audition.stop();
    }

    /// The selected candidate's log-mel spectrogram, low frequencies at the bottom.
    pub(super) fn spectrogram(&mut self, ui: &mut egui::Ui) {
        let Some(i) = self.studio.selected else {
            return;
        };
        let Some(c) = self.studio.candidates.get(i) else {
            return;
        };
        let mel = &c.rendered.mel;
        if mel.n_frames == 0 || mel.n_mels == 0 {
            return;
        }
        if self.spectrogram.as_ref().is_none_or(|(k, _)| *k != i) {
            let tex = ui
                .ctx()
                .load_texture("spectrogram", mel_image(mel), TextureOptions::LINEAR);
            self.spectrogram = Some((i, tex));
        }
        let Some((_, tex)) = &self.spectrogram else {
            return;
        };
        ui.label(format!("Spectrogram of {} (log-mel)", c.name));
        let (rect, _) =
            ui.allocate_exact_size(Vec2::new(ui.available_width(), 120.0), Sense::hover());
        let plot = Rect::from_min_max(
            Pos2::new(rect.left() + 44.0, rect.top() + 6.0),
            Pos2::new(rect.right(), rect.bottom() - 16.0),
        );
        let painter = ui.painter_at(rect);
        painter.image(
            tex.id(),
            plot,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        // Frequency axis: the mel bands' own scale (0-8 kHz, AudioLDM's filterbank).
        let font = egui::FontId::proportional(10.0);
        let colour = ui.visuals().text_color();
        let top_mel = hz_to_mel(8000.0);
        for hz in [0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0] {
            let y = plot.bottom() - (hz_to_mel(hz) / top_mel) as f32 * plot.height();
            let label = if hz >= 1000.0 {
                format!("{}k", hz / 1000.0)
            } else {
                format!("{hz}")
            };
            painter.text(
                Pos2::new(plot.left() - 4.0, y),
                egui::Align2::RIGHT_CENTER,
                label,
                font.clone(),
                colour,
            );
        }
        // Time axis in seconds of the clip, with the picture's motion energy over it.
        let (a, b) = c.range;
        let x_of = |t: f64| plot.left() + ((t - a) / (b - a).max(1e-6)) as f32 * plot.width();
        for t in (a.ceil() as usize)..=(b.floor() as usize) {
            painter.text(
                Pos2::new(x_of(t as f64), plot.bottom() + 2.0),
                egui::Align2::CENTER_TOP,
                format!("{t}s"),
                font.clone(),
                colour,
            );
        }
        if let Some(track) = &self.motion {
            let points = motion_points(track, (a, b), x_of, (plot.bottom(), plot.height()));
            painter.add(egui::Shape::line(
                points,
                Stroke::new(1.5, Color32::from_rgba_unmultiplied(120, 220, 255, 200)),
            ));
        }
    }
}

/// The motion-energy curve over `[from, to]` as points: `x_of` maps clip time to x, the
/// curve rises from `base` by up to `height` at the clip's largest motion.
pub(super) fn motion_points(
    track: &MotionTrack,
    (from, to): (f64, f64),
    x_of: impl Fn(f64) -> f32,
    (base, height): (f32, f32),
) -> Vec<Pos2> {
    let peak = track.energy.iter().fold(1e-6f32, |m, v| m.max(*v));
    track
        .times
        .iter()
        .zip(&track.energy)
        .filter(|(t, _)| **t >= from && **t <= to)
        .map(|(t, e)| Pos2::new(x_of(*t), base - (e / peak) * height))
        .collect()
}

/// A log-mel spectrogram as a picture, low bands at the bottom, levels spread over the ramp.
pub(super) fn mel_image(mel: &MelSpectrogram) -> ColorImage {
    let (lo, hi) = mel
        .data
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = (hi - lo).max(1e-6);
    let mut pixels = Vec::with_capacity(mel.n_frames * mel.n_mels);
    for m in (0..mel.n_mels).rev() {
        for t in 0..mel.n_frames {
            pixels.push(heat((mel.get(t, m).unwrap_or(lo) - lo) / span));
        }
    }
    ColorImage::new([mel.n_frames, mel.n_mels], pixels)
}

/// A dark-to-bright colour ramp for spectrogram levels in [0, 1].
pub(super) fn heat(v: f32) -> Color32 {
    let v = v.clamp(0.0, 1.0);
    let r = (255.0 * (1.5 * v).min(1.0)) as u8;
    let g = (255.0 * (1.5 * v - 0.5).clamp(0.0, 1.0)) as u8;
    let b = (255.0 * (0.4 - v).max(0.0) * 1.5 + 255.0 * (3.0 * v - 2.0).clamp(0.0, 1.0)) as u8;
    Color32::from_rgb(r, g, b)
}
