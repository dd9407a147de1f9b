//! The candidates panel on the right: each candidate's scores, lineage and edits.

use avsync_engine::gmds::Lineage;
use eframe::egui;

use super::StudioApp;
use crate::gui::beds::{Bed, MAX_BED_S};

impl StudioApp {
    pub(super) fn candidates_panel(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.studio;
        let previous = &mut self.previous;
        ui.heading("Candidates");
        if s.candidates.is_empty() {
            ui.label("none yet");
        }
        let mut export = None;
        let mut bed = None;
        let mut vary = None;
        if !s.candidates.is_empty() {
            ui.horizontal(|ui| {
                ui.label("Beds");
                ui.add(
                    egui::DragValue::new(&mut self.bed_seconds)
                        .range(1.0..=MAX_BED_S)
                        .suffix(" s"),
                )
                .on_hover_text("loop length, or seconds added past a candidate's end");
            });
        }
        let bed_seconds = self.bed_seconds;
        for (i, c) in s.candidates.iter_mut().enumerate() {
            let selected = s.selected == Some(i);
            ui.group(|ui| {
                if ui.selectable_label(selected, &c.name).clicked() && !selected {
                    *previous = s.selected;
                    s.selected = Some(i);
                }
                ui.label(format!("score {:.3}", c.rendered.score));
                if let Some(src) = &c.rendered.source {
                    let name = src.path.file_name().unwrap_or_default().to_string_lossy();
                    let origin = src.origin.as_deref().unwrap_or("");
                    ui.label(format!("from {name} ({})", src.licence))
                        .on_hover_text(format!(
                            "{}\n{}\n{origin}",
                            src.caption,
                            src.path.display()
                        ));
                }
                ui.label(lineage_text(&c.rendered.lineage));
                for v in &c.rendered.scores {
                    let text = match v.score {
                        Some(x) => format!("  {} {x:.3}", v.name),
                        None => format!("  {} n/a", v.name),
                    };
                    let r = ui.label(text);
                    if let Some(note) = &v.note {
                        r.on_hover_text(note);
                    }
                }
                ui.checkbox(&mut c.edits.keep, format!("keep {}", i + 1));
                ui.horizontal(|ui| {
                    if ui.button(format!("nudge {} earlier", i + 1)).clicked() {
                        c.edits.nudge_frames -= 1;
                    }
                    ui.label(format!("{:+} fr", c.edits.nudge_frames));
                    if ui.button(format!("nudge {} later", i + 1)).clicked() {
                        c.edits.nudge_frames += 1;
                    }
                });
                ui.add(egui::Slider::new(&mut c.edits.gain_db, -24.0..=12.0).text("gain dB"));
                ui.add(egui::Slider::new(&mut c.edits.fade_in_s, 0.0..=2.0).text("fade in s"));
                ui.add(egui::Slider::new(&mut c.edits.fade_out_s, 0.0..=2.0).text("fade out s"));
                ui.checkbox(&mut c.edits.normalize, "normalise to -23 LUFS");
                ui.horizontal(|ui| {
                    if ui.button(format!("export {}", i + 1)).clicked() {
                        export = Some(i);
                    }
                    if ui
                        .button(format!("vary {}", i + 1))
                        .on_hover_text("variations of this candidate at the variation strength")
                        .clicked()
                    {
                        vary = Some(i);
                    }
                    if ui
                        .button(format!("loop {}", i + 1))
                        .on_hover_text("a seamless loop of the bed length, as a new candidate")
                        .clicked()
                    {
                        bed = Some((i, Bed::Loop(bed_seconds)));
                    }
                    if ui
                        .button(format!("extend {}", i + 1))
                        .on_hover_text(
                            "continued past its end by the bed length, as a new candidate",
                        )
                        .clicked()
                    {
                        bed = Some((i, Bed::Extend(bed_seconds)));
                    }
                });
            });
        }
        if let Some(i) = export {
            s.export(i);
        }
        if let Some((i, b)) = bed {
            s.make_bed(i, b);
        }
        if let Some(i) = vary {
            s.vary_candidate(i);
        }
    }
}

/// How a candidate's noise came to be, in words.
pub(super) fn lineage_text(lineage: &Lineage) -> String {
    match lineage {
        Lineage::Initial { seed } => format!("initial noise, seed {seed}"),
        Lineage::Proposal {
            parent,
            iteration,
            beta,
            step,
            ..
        } => format!("{step} step (beta {beta}) from #{parent}, iteration {iteration}"),
    }
}
