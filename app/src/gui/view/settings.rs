//! The settings window: compute device, sampler, adapter strengths, verifier weights, export.

use std::path::PathBuf;

use avsync_engine::device::ComputePreference;
use avsync_engine::media::WavFormat;
use eframe::egui;

use super::StudioApp;
use crate::gui::audition::Audition;

impl StudioApp {
    pub(super) fn settings(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Settings").show(ui, |ui| {
            let label = ui.label("Model directory");
            let r = ui
                .add(egui::TextEdit::singleline(&mut self.model_path))
                .labelled_by(label.id);
            if r.changed() {
                self.studio.model_dir = PathBuf::from(self.model_path.trim());
            }
            if ui.button("Choose model…").clicked()
                && let Some(dir) = rfd::FileDialog::new().pick_folder()
            {
                self.model_path = dir.display().to_string();
                self.studio.model_dir = dir;
            }
            let compute = self.studio.compute;
            egui::ComboBox::from_label("compute device")
                .selected_text(format!("{compute:?}"))
                .show_ui(ui, |ui| {
                    for c in [
                        ComputePreference::Auto,
                        ComputePreference::Gpu,
                        ComputePreference::Cpu,
                    ] {
                        if ui
                            .selectable_label(compute == c, format!("{c:?}"))
                            .clicked()
                        {
                            self.studio.set_compute(c);
                        }
                    }
                });
            let rate = self.studio.export_rate;
            egui::ComboBox::from_label("export sample rate")
                .selected_text(format!("{rate} Hz"))
                .show_ui(ui, |ui| {
                    for r in [48_000, 44_100, 16_000] {
                        if ui.selectable_label(rate == r, format!("{r} Hz")).clicked() {
                            self.studio.export_rate = r;
                        }
                    }
                });
            let format = self.studio.export_format;
            egui::ComboBox::from_label("export format")
                .selected_text(format!("{format:?}"))
                .show_ui(ui, |ui| {
                    for f in [WavFormat::Pcm24, WavFormat::Pcm16, WavFormat::Float32] {
                        if ui.selectable_label(format == f, format!("{f:?}")).clicked() {
                            self.studio.export_format = f;
                        }
                    }
                });
            let container = self.studio.export_container.clone();
            egui::ComboBox::from_label("export video")
                .selected_text(container.as_deref().unwrap_or("like the clip"))
                .show_ui(ui, |ui| {
                    for c in [None, Some("mp4"), Some("mov"), Some("mkv")] {
                        let name = c.unwrap_or("like the clip");
                        if ui
                            .selectable_label(container.as_deref() == c, name)
                            .clicked()
                        {
                            self.studio.export_container = c.map(str::to_string);
                        }
                    }
                });
            if ui.button("Sound outputs…").clicked() {
                self.outputs = Audition::output_names();
            }
            let mut chosen = None;
            for name in &self.outputs {
                if ui.button(format!("play through {name}")).clicked() {
                    chosen = Some(name.clone());
                }
            }
            if let Some(name) = chosen {
                self.audition.use_output(&name);
            }
            if ui.button("Export folder…").clicked()
                && let Some(dir) = rfd::FileDialog::new().pick_folder()
            {
                self.studio.export_dir = Some(dir);
            }
            let folder = self
                .studio
                .export_dir
                .as_ref()
                .map_or("beside the clip".to_string(), |d| d.display().to_string());
            ui.label(format!("exports go {folder}"));
        });
    }
}
