//! Drawing the editor: video viewer on top, timeline below, the prompt and search panel on
//! the left, candidates on the right, status bar at the bottom. Every widget is labelled,
//! so screen readers and the interaction tests find them by name.

use std::path::PathBuf;

use avsync_engine::device::ComputePreference;
use avsync_engine::dsp::mel::{MelExtractor, MelSpectrogram, hz_to_mel};
use avsync_engine::features::track::MotionTrack;
use avsync_engine::gmds::Lineage;
use avsync_engine::media::{
    DecodeOptions, RgbFrame, VideoReader, WavFormat, decode_audio, uniform_times,
};
use avsync_engine::schedule::SamplerKind;
use eframe::egui::{
    self, Color32, ColorImage, Key, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions, Vec2,
};
use std::sync::mpsc::Receiver;

use super::audition::Audition;
use super::frames::FrameServer;
use super::studio::Studio;

/// Peaks and log-mel of a decoded sound, or why it could not be read.
type PeaksResult = Result<(Vec<f32>, MelSpectrogram), String>;

/// Picture size the viewer decodes at (the display scales it).
const VIEW_WIDTH: u32 = 640;
/// Thumbnails in the timeline's strip, and their width.
const THUMBNAILS: usize = 24;
const THUMB_WIDTH: u32 = 96;
/// Height of the thumbnail strip in points.
const STRIP_HEIGHT: f32 = 40.0;

/// The editor window's state.
pub struct StudioApp {
    /// Editor state and actions.
    pub studio: Studio,
    /// Path typed in the Open box.
    pub open_path: String,
    /// Model directory as typed.
    pub model_path: String,
    /// Playback of candidates in sync with the picture.
    pub audition: Audition,
    /// Loop the in/out range while playing.
    pub loop_range: bool,
    /// The candidate A/B switches back to.
    pub previous: Option<usize>,
    /// Timeline zoom (1 = the whole clip).
    pub zoom: f64,
    outputs: Vec<String>,
    frames: Option<FrameServer>,
    texture: Option<(u64, TextureHandle)>,
    motion: Option<MotionTrack>,
    motion_rx: Option<Receiver<Result<MotionTrack, String>>>,
    thumbnails: Vec<(f64, TextureHandle)>,
    /// Reference path shown, its peaks, and the decoding in flight.
    reference: (String, Vec<f32>, Option<Receiver<PeaksResult>>),
    reference_mel: Option<TextureHandle>,
    thumbnails_rx: Option<Receiver<Result<Vec<RgbFrame>, String>>>,
    spectrogram: Option<(usize, TextureHandle)>,
}

impl StudioApp {
    /// A new editor around `studio`, playing through `audition`.
    pub fn new(studio: Studio, audition: Audition) -> Self {
        Self {
            model_path: studio.model_dir.display().to_string(),
            studio,
            open_path: String::new(),
            audition,
            loop_range: false,
            previous: None,
            zoom: 1.0,
            outputs: Vec::new(),
            frames: None,
            texture: None,
            motion: None,
            motion_rx: None,
            thumbnails: Vec::new(),
            reference: (String::new(), Vec::new(), None),
            reference_mel: None,
            thumbnails_rx: None,
            spectrogram: None,
        }
    }

    /// Open a clip and start its picture decoder.
    pub fn open(&mut self, path: PathBuf) {
        self.studio.open(&path);
        if let Some(c) = &self.studio.clip {
            let v = c.info.video.as_ref().expect("opened clips have video");
            let w = VIEW_WIDTH.min(v.width.max(2));
            let h =
                ((u64::from(v.height) * u64::from(w) / u64::from(v.width.max(1))) as u32).max(2);
            let duration = c.duration;
            let (tx, rx) = std::sync::mpsc::channel();
            let analysed = path.clone();
            std::thread::spawn(move || {
                let _ = tx.send(
                    MotionTrack::analyse(&analysed, (0.0, duration), 4).map_err(|e| e.to_string()),
                );
            });
            self.motion = None;
            self.motion_rx = Some(rx);
            let (tx, rx) = std::sync::mpsc::channel();
            let strip = path.clone();
            let th = ((u64::from(THUMB_WIDTH) * u64::from(v.height) / u64::from(v.width.max(1)))
                as u32)
                .max(2);
            std::thread::spawn(move || {
                let frames = VideoReader::open(&strip).and_then(|mut r| {
                    r.frames_at(&uniform_times(0.0, duration, THUMBNAILS), THUMB_WIDTH, th)
                });
                let _ = tx.send(frames.map_err(|e| e.to_string()));
            });
            self.thumbnails.clear();
            self.thumbnails_rx = Some(rx);
            self.frames = Some(FrameServer::start(path, w, h));
            self.texture = None;
            self.audition.stop();
        }
    }

    /// The reference sound's waveform under its field, decoded in the background when the
    /// path changes.
    fn reference_waveform(&mut self, ui: &mut egui::Ui) {
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

    /// Whether the reference sound's spectrogram is shown.
    pub fn has_reference_spectrogram(&self) -> bool {
        self.reference_mel.is_some()
    }

    /// Whether the reference sound's waveform is shown.
    pub fn has_reference_waveform(&self) -> bool {
        !self.reference.1.is_empty()
    }

    /// Whether the viewer shows a decoded picture.
    pub fn picture_shown(&self) -> bool {
        self.texture.is_some()
    }

    /// Whether the motion analysis has arrived.
    pub fn motion_ready(&self) -> bool {
        self.motion.is_some()
    }

    /// Thumbnails in the timeline's strip so far.
    pub fn thumbnail_count(&self) -> usize {
        self.thumbnails.len()
    }

    /// Restart the picture decoder after the clip changed under the editor.
    fn reload_picture(&mut self) {
        let (range, playhead) = (self.studio.range, self.studio.playhead);
        if let Some(path) = self.studio.clip.as_ref().map(|c| c.path.clone()) {
            self.open(path);
            self.studio.range = range;
            self.studio.playhead = playhead;
        } else {
            self.frames = None;
            self.texture = None;
        }
    }

    /// Draw one frame of the interface and handle its input.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.studio.poll();
        self.studio.autosave();
        if let Some(rx) = &self.thumbnails_rx
            && let Ok(result) = rx.try_recv()
        {
            self.thumbnails_rx = None;
            match result {
                Ok(frames) => {
                    self.thumbnails = frames
                        .into_iter()
                        .enumerate()
                        .map(|(k, f)| {
                            let image = ColorImage::from_rgb(
                                [f.width as usize, f.height as usize],
                                &f.data,
                            );
                            let tex = ui.ctx().load_texture(
                                format!("thumbnail{k}"),
                                image,
                                TextureOptions::LINEAR,
                            );
                            (f.pts_s, tex)
                        })
                        .collect();
                }
                Err(e) => self.studio.log.push(format!("error: thumbnails: {e}")),
            }
        }
        if let Some(rx) = &self.motion_rx {
            match rx.try_recv() {
                Ok(Ok(track)) => {
                    self.motion = Some(track);
                    self.motion_rx = None;
                }
                Ok(Err(e)) => {
                    self.studio.log.push(format!("error: motion analysis: {e}"));
                    self.motion_rx = None;
                }
                Err(_) => ui
                    .ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100)),
            }
        }
        self.keyboard(ui);
        self.dropped_files(ui);
        if let Some(t) = self.audition.position() {
            let end = self.studio.clip.as_ref().map_or(0.0, |c| c.duration);
            let (a, b) = self.studio.range;
            if self.loop_range && t >= b {
                self.studio.playhead = a;
                self.start_playback();
            } else if t >= end {
                self.audition.stop();
            } else {
                self.studio.playhead = t;
            }
            ui.ctx().request_repaint();
        }
        if self.studio.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status(ui));
        egui::Panel::left("prompt").min_size(260.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.prompt_panel(ui);
                ui.separator();
                self.settings(ui);
                egui::CollapsingHeader::new("Log").show(ui, |ui| {
                    for line in self.studio.log.iter().rev().take(200) {
                        ui.label(line);
                    }
                });
            });
        });
        egui::Panel::right("candidates")
            .min_size(260.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.candidates_panel(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.viewer(ui);
            self.transport(ui);
            self.timeline(ui);
            self.spectrogram(ui);
        });
    }

    fn keyboard(&mut self, ui: &egui::Ui) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ui.input(|inp| inp.key_pressed(k) && !inp.modifiers.command);
        let command = |k: Key| ui.input(|inp| inp.key_pressed(k) && inp.modifiers.command);
        let (space, left, right, i, o) = (
            pressed(Key::Space),
            pressed(Key::ArrowLeft),
            pressed(Key::ArrowRight),
            pressed(Key::I),
            pressed(Key::O),
        );
        let (j, k, l, ab) = (
            pressed(Key::J),
            pressed(Key::K),
            pressed(Key::L),
            pressed(Key::A) || pressed(Key::B),
        );
        let (g, e, save) = (command(Key::G), command(Key::E), command(Key::S));
        if save {
            self.studio.save_project(None);
        }
        if space {
            self.toggle_play();
        }
        if left || right {
            self.audition.stop();
            self.studio.step(if left { -1 } else { 1 });
        }
        if j {
            // Shuttle back: one second earlier, keep playing if playing.
            self.studio.playhead = (self.studio.playhead - 1.0).max(0.0);
            if self.audition.is_playing() {
                self.start_playback();
            }
        }
        if k {
            self.audition.stop();
        }
        if l && !self.audition.is_playing() {
            self.start_playback();
        }
        if ab {
            self.switch_ab();
        }
        if i {
            self.studio.mark(true);
        }
        if o {
            self.studio.mark(false);
        }
        if g {
            self.studio.generate();
        }
        if e && let Some(s) = self.studio.selected {
            self.studio.export(s);
        }
    }

    fn dropped_files(&mut self, ui: &egui::Ui) {
        let dropped: Vec<PathBuf> = ui.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        for path in dropped {
            let is_audio = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["wav", "flac", "mp3", "ogg", "opus", "aac", "m4a"]
                    .contains(&e.to_ascii_lowercase().as_str())
            });
            if is_audio {
                self.studio.reference_path = path.display().to_string();
            } else {
                self.open(path);
            }
        }
    }

    fn toggle_play(&mut self) {
        if self.audition.is_playing() {
            self.audition.stop();
        } else {
            self.start_playback();
        }
    }

    /// Play the selected candidate (or the picture alone) from the playhead.
    pub fn start_playback(&mut self) {
        let fps = self.studio.clip.as_ref().map_or(25.0, |c| c.rate.fps());
        let from = self.studio.playhead;
        match self
            .studio
            .selected
            .and_then(|i| self.studio.candidates.get(i).map(|c| (i, c)))
        {
            Some((i, c)) => {
                let start = c.range.0 + c.edits.nudge_frames as f64 / fps;
                let gain = 10f32.powf(c.edits.gain_db as f32 / 20.0);
                self.audition.play(i, &c.rendered.audio, start, gain, from);
            }
            None => self.audition.play(usize::MAX, &[], 0.0, 0.0, from),
        }
    }

    /// A/B: switch between the selected candidate and the one selected before it, at the
    /// same position.
    pub fn switch_ab(&mut self) {
        let Some(other) = self.previous.filter(|p| *p < self.studio.candidates.len()) else {
            return;
        };
        self.previous = self.studio.selected;
        self.studio.selected = Some(other);
        if self.audition.is_playing() {
            self.start_playback();
        }
    }

    fn menu(&mut self, ui: &mut egui::Ui) {
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

    fn settings(&mut self, ui: &mut egui::Ui) {
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

    fn status(&mut self, ui: &mut egui::Ui) {
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

    fn prompt_panel(&mut self, ui: &mut egui::Ui) {
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
                .add_filter(
                    "audio",
                    &["wav", "flac", "mp3", "ogg", "opus", "m4a", "aac"],
                )
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

    fn candidates_panel(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.studio;
        let previous = &mut self.previous;
        ui.heading("Candidates");
        if s.candidates.is_empty() {
            ui.label("none yet");
        }
        let mut export = None;
        for (i, c) in s.candidates.iter_mut().enumerate() {
            let selected = s.selected == Some(i);
            ui.group(|ui| {
                if ui.selectable_label(selected, &c.name).clicked() && !selected {
                    *previous = s.selected;
                    s.selected = Some(i);
                }
                ui.label(format!("score {:.3}", c.rendered.score));
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
                if ui.button(format!("export {}", i + 1)).clicked() {
                    export = Some(i);
                }
            });
        }
        if let Some(i) = export {
            s.export(i);
        }
    }

    fn viewer(&mut self, ui: &mut egui::Ui) {
        let Some(clip) = &self.studio.clip else {
            ui.centered_and_justified(|ui| {
                ui.label("Open a clip: type its path above or drop it on the window.");
            });
            return;
        };
        let index = clip.rate.frame_at(self.studio.playhead);
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
        if let Some((_, tex)) = &self.texture {
            let avail = ui.available_size() - Vec2::new(0.0, 160.0);
            let size = tex.size_vec2();
            let scale = (avail.x / size.x).min(avail.y / size.y).clamp(0.1, 4.0);
            ui.vertical_centered(|ui| {
                ui.image((tex.id(), size * scale));
            });
        }
    }

    fn transport(&mut self, ui: &mut egui::Ui) {
        let Some(clip) = &self.studio.clip else {
            return;
        };
        let tc = clip.rate.timecode(clip.rate.frame_at(self.studio.playhead));
        let rate = clip.rate;
        ui.horizontal(|ui| {
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
    }

    fn timeline(&mut self, ui: &mut egui::Ui) {
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
                Pos2::new(x_of(b), rect.top() + 20.0),
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
        // Playhead.
        let x = x_of(self.studio.playhead);
        painter.line_segment(
            [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
            Stroke::new(2.0, Color32::from_rgb(230, 80, 60)),
        );
        if let Some(p) = response.interact_pointer_pos() {
            self.studio.playhead = t_of(p.x).clamp(0.0, duration);
            self.audition.stop();
        }
    }
}

impl StudioApp {
    /// The selected candidate's log-mel spectrogram, low frequencies at the bottom.
    fn spectrogram(&mut self, ui: &mut egui::Ui) {
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
fn motion_points(
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

/// How a candidate's noise came to be, in words.
fn lineage_text(lineage: &Lineage) -> String {
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

/// A log-mel spectrogram as a picture, low bands at the bottom, levels spread over the ramp.
fn mel_image(mel: &MelSpectrogram) -> ColorImage {
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
fn heat(v: f32) -> Color32 {
    let v = v.clamp(0.0, 1.0);
    let r = (255.0 * (1.5 * v).min(1.0)) as u8;
    let g = (255.0 * (1.5 * v - 0.5).clamp(0.0, 1.0)) as u8;
    let b = (255.0 * (0.4 - v).max(0.0) * 1.5 + 255.0 * (3.0 * v - 2.0).clamp(0.0, 1.0)) as u8;
    Color32::from_rgb(r, g, b)
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
