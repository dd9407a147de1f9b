//! The video viewer and the transport under it, with the marker tools.

use std::path::PathBuf;

use avsync_engine::features::events::{EventPicking, pick_events};
use eframe::egui::{self, ColorImage, TextureOptions, Vec2};

use super::super::recorder::Recorder;
use super::{AUDIO_EXTENSIONS, STRIP_HEIGHT, StudioApp};

impl StudioApp {
    pub(super) fn viewer(&mut self, ui: &mut egui::Ui) {
        let Some(clip) = &self.studio.clip else {
            ui.centered_and_justified(|ui| {
                ui.label("Open a clip: type its path above or drop it on the window.");
            });
            return;
        };
        let rate = clip.rate;
        let index = rate.frame_at(self.studio.playhead);
        let Some(server) = &mut self.frames else {
            return;
        };
        let error = server.poll();
        server.request(index, self.studio.playhead);
        let image = server
            .frame(index)
            .or_else(|| server.nearest(index))
            .map(|f| ColorImage::from_rgb([f.width as usize, f.height as usize], &f.data));
        if let Some(e) = error {
            self.studio.log.push(format!("error: {e}"));
        }
        if server.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(16));
        }
        if let Some(image) = image {
            let stale = self.texture.as_ref().is_none_or(|(i, _)| *i != index);
            if stale {
                match &mut self.texture {
                    Some((i, tex)) => {
                        tex.set(image, TextureOptions::LINEAR);
                        *i = index;
                    }
                    None => {
                        let tex = ui
                            .ctx()
                            .load_texture("frame", image, TextureOptions::LINEAR);
                        self.texture = Some((index, tex));
                    }
                }
            }
        }
        // Room for what is drawn below: transport and marker rows, the timeline with a
        // lane per candidate, the spectrogram of the selected one.
        let lanes = self.studio.candidates.len() as f32;
        let spectrogram = if self.studio.selected.is_some() {
            150.0
        } else {
            0.0
        };
        let below = 130.0 + STRIP_HEIGHT + 36.0 * lanes + spectrogram;
        let avail = ui.available_size() - Vec2::new(0.0, below);
        // The picture's shape is known before its first frame is decoded, so the controls
        // below do not jump when it arrives.
        let size = match &self.texture {
            Some((_, tex)) => tex.size_vec2(),
            None => clip.info.video.as_ref().map_or(Vec2::new(16.0, 9.0), |v| {
                Vec2::new(v.width.max(1) as f32, v.height.max(1) as f32)
            }),
        };
        let scale = (avail.x / size.x).min(avail.y / size.y).clamp(0.1, 4.0);
        let shown = ui
            .vertical_centered(|ui| match &self.texture {
                Some((_, tex)) => ui.image((tex.id(), size * scale)).rect,
                None => {
                    let (rect, _) = ui.allocate_exact_size(size * scale, egui::Sense::hover());
                    ui.painter().rect_filled(rect, 0.0, egui::Color32::BLACK);
                    rect
                }
            })
            .inner;
        // A picked event still marked on this frame: where in the picture it came from.
        let marked = |t: f64| {
            self.studio
                .markers
                .times()
                .iter()
                .any(|&m| rate.frame_at(m) == rate.frame_at(t))
        };
        if let Some(e) = self
            .picked
            .iter()
            .find(|e| rate.frame_at(e.time_s) == index && marked(e.time_s))
        {
            let [x0, y0, x1, y1] = e.region;
            let at = |x: f32, y: f32| shown.min + Vec2::new(x * shown.width(), y * shown.height());
            let region = egui::Rect::from_min_max(at(x0, y0), at(x1, y1));
            let colour = egui::Color32::from_rgb(90, 210, 230);
            let painter = ui.painter();
            painter.rect_stroke(
                region,
                2.0,
                egui::Stroke::new(2.0, colour),
                egui::StrokeKind::Outside,
            );
            painter.text(
                region.left_top() + Vec2::new(0.0, -2.0),
                egui::Align2::LEFT_BOTTOM,
                format!("event, confidence {:.2}", e.confidence),
                egui::FontId::proportional(13.0),
                colour,
            );
        }
    }

    pub(super) fn transport(&mut self, ui: &mut egui::Ui) {
        let Some(clip) = &self.studio.clip else {
            return;
        };
        let tc = clip.rate.timecode(clip.rate.frame_at(self.studio.playhead));
        let rate = clip.rate;
        ui.horizontal_wrapped(|ui| {
            let label = if self.audition.is_playing() {
                "Pause"
            } else {
                "Play"
            };
            if ui.button(label).clicked() {
                self.toggle_play();
            }
            ui.checkbox(&mut self.loop_range, "Loop range");
            if ui.button("Previous frame").clicked() {
                self.studio.step(-1);
            }
            if ui.button("Next frame").clicked() {
                self.studio.step(1);
            }
            ui.monospace(tc);
            ui.label(format!("{:.3} fps", rate.fps()));
            if ui.button("Set in").clicked() {
                self.studio.mark(true);
            }
            if ui.button("Set out").clicked() {
                self.studio.mark(false);
            }
            ui.label(format!(
                "range {:.2}-{:.2} s",
                self.studio.range.0, self.studio.range.1
            ));
        });
        self.marker_tools(ui);
    }

    /// Markers: tap, clear, take the onsets of a vocal imitation, spot the reference sound.
    fn marker_tools(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Tap marker")
                .on_hover_text("M: mark an event at the playhead, also while playing")
                .clicked()
            {
                self.studio.tap();
            }
            let timing = if self.studio.markers.is_empty() {
                "timing from the picture".to_string()
            } else {
                format!("{} markers drive the timing", self.studio.markers.len())
            };
            ui.label(timing);
            if ui
                .add_enabled(
                    self.motion.is_some(),
                    egui::Button::new("Markers from picture"),
                )
                .on_hover_text(
                    "mark the events the picture shows in the range, at the event sensitivity; \
                     edit them like any marker. On a marked event's frame the viewer shows \
                     where in the picture it came from",
                )
                .clicked()
            {
                self.markers_from_picture();
            }
            if ui
                .add_enabled(
                    !self.studio.markers.is_empty(),
                    egui::Button::new("Clear markers"),
                )
                .clicked()
            {
                self.studio.markers.clear();
            }
            ui.separator();
            let label = ui.label("Imitation");
            ui.add(
                egui::TextEdit::singleline(&mut self.imitation_path)
                    .hint_text("a recorded vocal imitation")
                    .desired_width(180.0),
            )
            .labelled_by(label.id);
            if ui
                .button("Markers from imitation")
                .on_hover_text("each onset of the sound, from the in point, becomes a marker")
                .clicked()
            {
                if self.imitation_path.trim().is_empty()
                    && let Some(p) = rfd::FileDialog::new()
                        .add_filter("audio", &AUDIO_EXTENSIONS)
                        .pick_file()
                {
                    self.imitation_path = p.display().to_string();
                }
                let path = PathBuf::from(self.imitation_path.trim());
                if !path.as_os_str().is_empty() {
                    self.studio.markers_from_imitation(&path);
                }
            }
            self.record_button(ui);
            ui.separator();
            if ui
                .button("Spot reference")
                .on_hover_text("place the reference sound at every marker, without the model")
                .clicked()
            {
                self.studio.spot();
            }
        });
    }
}

impl StudioApp {
    /// Add a marker at every event the picture shows in the range (the clip's motion
    /// analysis, picked at the request's event sensitivity), keeping each event's region.
    fn markers_from_picture(&mut self) {
        let (Some(track), Some(clip)) = (&self.motion, &self.studio.clip) else {
            return;
        };
        let rate = clip.rate;
        let picking = EventPicking {
            sensitivity: self.studio.request.event_sensitivity,
            ..EventPicking::default()
        };
        let (from, to) = self.studio.range;
        self.picked = pick_events(track, &picking)
            .into_iter()
            .filter(|e| e.time_s >= from && e.time_s <= to)
            .collect();
        for e in &self.picked {
            self.studio.markers.add(e.time_s, rate);
        }
        self.studio.info(format!(
            "{} markers from the picture's events in {from:.2}-{to:.2} s",
            self.picked.len()
        ));
    }

    /// Record imitation / Stop: while recording, the picture plays (silently, so nothing
    /// leaks into the microphone) from the in point to the out point, with an input meter.
    fn record_button(&mut self, ui: &mut egui::Ui) {
        match &self.recording {
            None => {
                if ui
                    .add_enabled(
                        self.studio.clip.is_some(),
                        egui::Button::new("Record imitation"),
                    )
                    .on_hover_text(
                        "perform the sounds with your voice while the range plays; \
                         each onset becomes a marker",
                    )
                    .clicked()
                {
                    self.start_recording();
                }
            }
            Some(recorder) => {
                let (seconds, level) = (recorder.seconds(), recorder.level());
                if ui.button("Stop recording").clicked() {
                    self.audition.stop();
                    self.finish_recording();
                }
                ui.label(
                    egui::RichText::new(format!("REC {seconds:.1} s"))
                        .color(egui::Color32::from_rgb(230, 60, 60)),
                );
                ui.add(
                    egui::ProgressBar::new(level)
                        .desired_width(80.0)
                        .fill(if level >= 0.99 {
                            egui::Color32::from_rgb(230, 60, 60)
                        } else {
                            egui::Color32::from_rgb(80, 190, 90)
                        }),
                )
                .on_hover_text("input level");
            }
        }
    }

    /// Open the input, then play the picture from the in point.
    pub fn start_recording(&mut self) {
        if self.studio.clip.is_none() {
            return;
        }
        match Recorder::start(self.input.clone()) {
            Ok(recorder) => {
                self.recording = Some(recorder);
                let (from, to) = self.studio.range;
                self.studio.playhead = from;
                self.audition.play(usize::MAX, &[], 0.0, 0.0, (from, to));
            }
            Err(e) => self.studio.error(format!("recording: {e}")),
        }
    }

    /// Keep the take and turn its onsets into markers.
    pub fn finish_recording(&mut self) {
        if let Some(recorder) = self.recording.take() {
            let take = recorder.stop();
            if let Some(path) = self.studio.markers_from_recording(take) {
                self.imitation_path = path.display().to_string();
            }
        }
    }
}
