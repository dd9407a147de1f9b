//! The menu bar and the status bar.

use std::path::PathBuf;

use eframe::egui::{self, Color32};

use super::StudioApp;

impl StudioApp {
    pub(super) fn menu(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if ui.button("Open…").clicked()
                && let Some(path) = rfd::FileDialog::new()
                    .add_filter("video", &["mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf"])
                    .pick_file()
            {
                self.open_path = path.display().to_string();
                self.open(path);
            }
            let mut chosen = None;
            egui::ComboBox::from_label("Recent")
                .selected_text("")
                .show_ui(ui, |ui| {
                    for p in &self.studio.recent {
                        if ui
                            .selectable_label(false, p.display().to_string())
                            .clicked()
                        {
                            chosen = Some(p.clone());
                        }
                    }
                });
            if let Some(p) = chosen {
                self.open_path = p.display().to_string();
                self.open(p);
            }
            let label = ui.label("Clip:");
            ui.add(
                egui::TextEdit::singleline(&mut self.open_path)
                    .hint_text("path to a video (or drop one here)")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            if ui.button("Open").clicked() {
                let path = PathBuf::from(self.open_path.trim());
                self.open(path);
            }
            ui.separator();
            if ui.button("Save project").clicked() {
                self.studio.save_project(None);
            }
            if ui.button("Save project as…").clicked()
                && let Some(path) = rfd::FileDialog::new()
                    .add_filter("AvSync project", &["avsync"])
                    .save_file()
            {
                self.studio.save_project(Some(path));
            }
            if ui.button("Load project…").clicked()
                && let Some(path) = rfd::FileDialog::new()
                    .add_filter("AvSync project", &["avsync"])
                    .pick_file()
            {
                self.studio.load_project(&path);
                self.reload_picture();
            }
            if self.studio.missing_clip.is_some()
                && ui.button("Relocate clip…").clicked()
                && let Some(path) = rfd::FileDialog::new().pick_file()
            {
                self.studio.relocate(&path);
                self.reload_picture();
            }
            ui.separator();
            let selected = self.studio.selected;
            if ui
                .add_enabled(selected.is_some(), egui::Button::new("Export"))
                .clicked()
                && let Some(s) = selected
            {
                self.studio.export(s);
            }
            if ui.button("Export kept stems").clicked() {
                self.studio.export_stems();
            }
        });
    }

    pub(super) fn status(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(why) = self.audition.device_problem() {
                ui.label(format!("no sound: {why}"));
                ui.separator();
            }
            if !self.studio.device_status.is_empty() {
                ui.label(&self.studio.device_status);
                ui.separator();
            }
            if let Some(m) = self.studio.last_message() {
                let colour = if m.starts_with("error:") {
                    Color32::LIGHT_RED
                } else {
                    ui.visuals().text_color()
                };
                ui.colored_label(colour, m);
            }
        });
    }
}
