//! The Library panel: index a folder of sounds, search it by description or by example,
//! preview a hit, take it as the reference sound or spot it on the markers.

use std::path::PathBuf;

use avsync_engine::media::{DecodeOptions, decode_audio};
use eframe::egui;

use super::StudioApp;

/// Preview rate.
const PREVIEW_RATE: u32 = 16_000;

impl StudioApp {
    pub(super) fn library_panel(&mut self, ui: &mut egui::Ui) {
        self.library.poll();
        if self.library.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        let lib = &mut self.library;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Folder");
            ui.add(
                egui::TextEdit::singleline(&mut lib.folder)
                    .hint_text("a folder of sounds")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            if ui.button("Choose folder…").clicked()
                && let Some(p) = rfd::FileDialog::new().pick_folder()
            {
                lib.folder = p.display().to_string();
            }
            if lib.progress.is_some() {
                if ui.button("Cancel indexing").clicked() {
                    lib.cancel();
                }
            } else if ui
                .button("Index folder")
                .on_hover_text("new and changed files only; the index is kept beside your settings")
                .clicked()
            {
                lib.index_folder();
            }
            if let Some((done, total)) = lib.progress {
                let fraction = if total == 0 {
                    0.0
                } else {
                    done as f32 / total as f32
                };
                ui.add(egui::ProgressBar::new(fraction).text(format!("{done}/{total}")));
            }
        });
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Search library");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut lib.query)
                        .hint_text("footsteps on gravel")
                        .desired_width(140.0),
                )
                .labelled_by(label.id);
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Search").clicked() || entered {
                lib.search();
            }
        });
        let took = lib
            .search_ms
            .map_or(String::new(), |ms| format!(" ({ms:.0} ms)"));
        ui.label(format!("{}{took}", lib.status));
        let mut action = None;
        egui::ScrollArea::vertical()
            .id_salt("library hits")
            .max_height(260.0)
            .show(ui, |ui| {
                for (k, hit) in lib.hits.iter().enumerate() {
                    let Some(entry) = lib.index.entries.get(hit.index) else {
                        continue;
                    };
                    let name = entry
                        .path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    let n = k + 1;
                    ui.horizontal(|ui| {
                        ui.label(format!("{n}. {name}"))
                            .on_hover_text(entry.path.display().to_string());
                        ui.weak(format!("{:.1} s {:.2}", entry.duration_s, hit.score));
                    });
                    ui.horizontal(|ui| {
                        if ui.small_button(format!("play {n}")).clicked() {
                            action = Some(HitAction::Play(entry.path.clone()));
                        }
                        if ui
                            .small_button(format!("use {n}"))
                            .on_hover_text("as the reference sound")
                            .clicked()
                        {
                            action = Some(HitAction::Use(entry.path.clone()));
                        }
                        if ui
                            .small_button(format!("spot {n}"))
                            .on_hover_text("place it at every marker")
                            .clicked()
                        {
                            action = Some(HitAction::Spot(entry.path.clone()));
                        }
                        if ui
                            .small_button(format!("vary {n}"))
                            .on_hover_text("variations of it, placed on the events")
                            .clicked()
                        {
                            action = Some(HitAction::Vary(entry.path.clone()));
                        }
                        if ui
                            .small_button(format!("like {n}"))
                            .on_hover_text("more like this one")
                            .clicked()
                        {
                            action = Some(HitAction::Like(hit.index));
                        }
                    });
                }
            });
        match action {
            Some(HitAction::Play(path)) => {
                // The first minute is the preview: a long recording is not read further.
                let options = DecodeOptions {
                    head_s: Some(60.0),
                    ..DecodeOptions::to(PREVIEW_RATE, 1)
                };
                match decode_audio(&path, &options) {
                    Ok(a) => {
                        if !self.audition.preview(a.samples, PREVIEW_RATE) {
                            self.library.status = "no sound output to preview on".into();
                        }
                    }
                    Err(e) => self.library.status = format!("error: {e}"),
                }
            }
            Some(HitAction::Use(path)) => {
                self.studio.reference_path = path.display().to_string();
            }
            Some(HitAction::Spot(path)) => {
                self.studio.reference_path = path.display().to_string();
                self.studio.spot();
            }
            Some(HitAction::Vary(path)) => self.studio.vary(path, false),
            Some(HitAction::Like(i)) => self.library.more_like(i),
            None => {}
        }
    }
}

/// What a click on a hit asks for.
enum HitAction {
    Play(PathBuf),
    Use(PathBuf),
    Spot(PathBuf),
    Vary(PathBuf),
    Like(usize),
}
