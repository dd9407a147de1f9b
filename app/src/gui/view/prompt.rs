//! The prompt and search panel on the left, with the reference sound's waveform and spectrogram.

use avsync_engine::dsp::mel::MelExtractor;
use avsync_engine::media::{DecodeOptions, decode_audio};
use avsync_engine::schedule::SamplerKind;
use eframe::egui::{self, Color32, Pos2, Sense, Stroke, TextureOptions, Vec2};

use super::timeline::mel_image;
use super::{AUDIO_EXTENSIONS, StudioApp};

impl StudioApp {
    /// The reference sound's waveform under its field, decoded in the background when the
    /// path changes.
    pub(super) fn reference_waveform(&mut self, ui: &mut egui::Ui) {
        let path = self.studio.reference_path.trim().to_string();
        if path != self.reference.0 {
            self.reference = (path.clone(), Vec::new(), None);
            self.reference_mel = None;
            if !path.is_empty() {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let peaks = decode_audio(
                        std::path::Path::new(&path),
                        &DecodeOptions {
                            max_duration_s: 600.0,
                            ..DecodeOptions::to(16_000, 1)
                        },
                    )
                    .and_then(|a| {
                        let per = (a.samples.len() / 240).max(1);
                        let peaks = a
                            .samples
                            .chunks(per)
                            .map(|c| c.iter().fold(0f32, |m, v| m.max(v.abs())))
                            .collect();
                        // The first 10 s, as the model's reference tokens see it.
                        let head = &a.samples[..a.samples.len().min(160_000)];
                        Ok((peaks, MelExtractor::audioldm()?.log_mel(head)?))
                    })
                    .map_err(|e| e.to_string());
                    let _ = tx.send(peaks);
                });
                self.reference.2 = Some(rx);
            }
        }
        if let Some(rx) = &self.reference.2 {
            match rx.try_recv() {
                Ok(Ok((peaks, mel))) => {
                    self.reference.1 = peaks;
                    self.reference.2 = None;
                    if mel.n_frames > 0 {
                        self.reference_mel = Some(ui.ctx().load_texture(
                            "reference-spectrogram",
                            mel_image(&mel),
                            TextureOptions::LINEAR,
                        ));
                    }
                }
                Ok(Err(e)) => {
                    self.studio.log.push(format!("error: {e}"));
                    self.reference.2 = None;
                }
                Err(_) => ui
                    .ctx()
                    .request_repaint_after(std::time::Duration::from_millis(50)),
            }
        }
        let peaks = &self.reference.1;
        if peaks.is_empty() {
            return;
        }
        let (rect, _) =
            ui.allocate_exact_size(Vec2::new(ui.available_width(), 32.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let top = peaks.iter().fold(1e-6f32, |m, v| m.max(*v));
        let step = rect.width() / peaks.len() as f32;
        for (k, p) in peaks.iter().enumerate() {
            let x = rect.left() + k as f32 * step;
            let h = 14.0 * p / top;
            painter.line_segment(
                [
                    Pos2::new(x, rect.center().y - h),
                    Pos2::new(x, rect.center().y + h),
                ],
                Stroke::new(1.0, Color32::from_rgb(120, 170, 220)),
            );
        }
        if let Some(tex) = &self.reference_mel {
            ui.image((tex.id(), Vec2::new(ui.available_width(), 48.0)))
                .on_hover_text("log-mel spectrogram of the reference (first 10 s)");
        }
    }

    pub(super) fn prompt_panel(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.studio;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!s.busy(), egui::Button::new("Generate"))
                .clicked()
            {
                s.generate();
            }
            if ui
                .add_enabled(s.busy(), egui::Button::new("Cancel"))
                .clicked()
            {
                s.cancel();
            }
        });
        if let Some(p) = s.progress {
            let fraction = if p.total > 0 {
                p.done as f32 / p.total as f32
            } else {
                0.0
            };
            let eta = p
                .eta_s
                .map_or(String::new(), |e| format!(", {e:.0} s left"));
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(format!("{:?} {}/{}{eta}", p.stage, p.done, p.total)),
            );
        }
        ui.separator();
        ui.heading("Prompt");
        let label = ui.label("Text");
        ui.text_edit_singleline(&mut s.request.text)
            .labelled_by(label.id)
            .on_hover_text("what should be heard");
        let label = ui.label("Negative text");
        ui.text_edit_singleline(&mut s.request.negative)
            .labelled_by(label.id);
        let label = ui.label("Reference sound");
        ui.text_edit_singleline(&mut s.reference_path)
            .labelled_by(label.id)
            .on_hover_text("an audio file (or drop one on the window)");
        if ui.button("Choose reference…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter("audio", &AUDIO_EXTENSIONS)
                .pick_file()
        {
            s.reference_path = p.display().to_string();
        }
        let codebooks = s.reference_codebooks;
        egui::ComboBox::from_label("codebooks")
            .selected_text(codebooks.to_string())
            .show_ui(ui, |ui| {
                for k in [1, 2, 4, 8] {
                    if ui.selectable_label(codebooks == k, k.to_string()).clicked() {
                        s.reference_codebooks = k;
                    }
                }
            });
        self.reference_waveform(ui);
        let s = &mut self.studio;
        let anchoring = &mut s.request.anchoring;
        ui.add(egui::Slider::new(&mut anchoring.strength, 0.0..=1.0).text("variation"))
            .on_hover_text(
                "0: the recording placed on the events as it is; higher: the model varies it \
                 more and fits it to the picture; 1: generated from noise",
            );
        ui.add(egui::Slider::new(&mut anchoring.retrieve, 0..=8).text("recordings"))
            .on_hover_text(
                "without a reference sound, this many recordings matching the text are found \
                 in the library (yours, else the starter library) and varied",
            );
        ui.add(
            egui::Slider::new(&mut s.request.event_sensitivity, 0.0..=1.0)
                .text("event sensitivity"),
        )
        .on_hover_text(
            "how readily sound events are picked from the picture when no markers are set: \
                 lower for shaky or busy footage, higher for small, subtle contacts",
        );
        let scales = &mut s.request.scales;
        ui.add(egui::Slider::new(&mut scales.video, 0.0..=2.0).text("video strength"));
        ui.add(egui::Slider::new(&mut scales.frames, 0.0..=2.0).text("frames strength"));
        ui.add(egui::Slider::new(&mut scales.audio, 0.0..=2.0).text("audio strength"));

        ui.separator();
        ui.heading("Search (GMDS)");
        let g = &mut s.request.gmds;
        ui.add(egui::Slider::new(&mut g.population, 1..=16).text("candidates N"));
        ui.add(egui::Slider::new(&mut g.iterations, 0..=8).text("iterations T"));
        ui.add(egui::Slider::new(&mut g.explore, 0.05..=0.95).text("beta_s (explore)"));
        ui.add(egui::Slider::new(&mut g.refine, 0.05..=0.95).text("beta_l (refine)"));
        let max_keep = g.evaluations();
        ui.add(egui::Slider::new(&mut s.request.keep, 1..=max_keep.max(1)).text("keep"));
        ui.add(egui::Slider::new(&mut s.request.sampler.steps, 1..=100).text("steps"));
        let mut exact = s.request.search_steps.is_none();
        if ui.checkbox(&mut exact, "search at full quality").changed() {
            s.request.search_steps = if exact { None } else { Some(4) };
        }
        if let Some(steps) = &mut s.request.search_steps {
            ui.add(egui::Slider::new(steps, 1..=25).text("search steps"));
        }
        let kind = s.request.sampler.kind;
        egui::ComboBox::from_label("scheduler")
            .selected_text(format!("{kind:?}"))
            .show_ui(ui, |ui| {
                for k in [SamplerKind::DpmSolver, SamplerKind::Ddim, SamplerKind::Ddpm] {
                    if ui.selectable_label(kind == k, format!("{k:?}")).clicked() {
                        s.set_sampler(k);
                    }
                }
            });
        ui.add(egui::Slider::new(&mut s.request.sampler.guidance, 1.0..=10.0).text("guidance"));
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut s.request.seed).prefix("seed "));
            ui.checkbox(&mut s.seed_locked, "lock seed");
        });
        let w = &mut s.request.verifiers;
        ui.add(egui::Slider::new(&mut w.sync, 0.0..=2.0).text("sync weight"));
        ui.add(egui::Slider::new(&mut w.reference, 0.0..=2.0).text("reference weight"));
        ui.add(egui::Slider::new(&mut w.text, 0.0..=2.0).text("text weight"));
    }
}
