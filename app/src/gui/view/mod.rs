//! Drawing the editor: video viewer on top, timeline below, the prompt and search panel on
//! the left, candidates on the right, status bar at the bottom. Every widget is labelled,
//! so screen readers and the interaction tests find them by name.

use std::path::PathBuf;

use avsync_engine::dsp::mel::MelSpectrogram;
use avsync_engine::features::events::VisualEvent;
use avsync_engine::features::track::MotionTrack;
use avsync_engine::media::{RgbFrame, VideoReader, uniform_times};
use eframe::egui::{self, ColorImage, Key, TextureHandle, TextureOptions};
use std::sync::mpsc::Receiver;

mod candidates;
mod library;
mod menu;
mod prompt;
mod settings;
mod timeline;
mod viewer;

use super::audition::Audition;
use super::frames::FrameServer;
use super::library::Library;
use super::recorder::{Input, Recorder};
use super::studio::Studio;

/// Peaks and log-mel of a decoded sound, or why it could not be read.
type PeaksResult = Result<(Vec<f32>, MelSpectrogram), String>;

/// Picture size the viewer decodes at (the display scales it).
const VIEW_WIDTH: u32 = 640;
/// Thumbnails in the timeline's strip, and their width.
const THUMBNAILS: usize = 24;
const THUMB_WIDTH: u32 = 96;
/// Sound files the editor offers and accepts when dropped.
const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "flac", "mp3", "ogg", "opus", "m4a", "aac"];
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
    /// Vocal imitation path as typed.
    pub imitation_path: String,
    /// Where recorded imitations come from.
    pub input: Input,
    /// The imitation being recorded.
    recording: Option<Recorder>,
    /// Length of the beds made from candidates (loop length, or seconds added), seconds.
    pub bed_seconds: f64,
    /// The marker being dragged on the timeline.
    dragged_marker: Option<usize>,
    /// The sound library.
    pub library: Library,
    outputs: Vec<String>,
    frames: Option<FrameServer>,
    texture: Option<(u64, TextureHandle)>,
    motion: Option<MotionTrack>,
    motion_rx: Option<Receiver<Result<MotionTrack, String>>>,
    /// The events last picked from the picture as markers, with where each came from.
    picked: Vec<VisualEvent>,
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
        let library = Library::open(None, &studio.model_dir);
        Self {
            model_path: studio.model_dir.display().to_string(),
            studio,
            open_path: String::new(),
            audition,
            loop_range: false,
            previous: None,
            zoom: 1.0,
            imitation_path: String::new(),
            input: Input::Microphone,
            recording: None,
            bed_seconds: 30.0,
            dragged_marker: None,
            library,
            outputs: Vec::new(),
            frames: None,
            texture: None,
            motion: None,
            motion_rx: None,
            picked: Vec::new(),
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
            self.picked.clear();
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
            if self.recording.is_some() && t >= b {
                self.audition.stop();
            } else if self.loop_range && t >= b {
                self.studio.playhead = a;
                self.start_playback();
            } else if t >= end {
                self.audition.stop();
            } else {
                self.studio.playhead = t;
            }
            ui.ctx().request_repaint();
        }
        if self.recording.is_some() {
            if self.audition.is_playing() {
                ui.ctx().request_repaint();
            } else {
                self.finish_recording();
            }
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
                egui::ScrollArea::vertical().show(ui, |ui| {
                    egui::CollapsingHeader::new("Library")
                        .default_open(true)
                        .show(ui, |ui| self.library_panel(ui));
                    ui.separator();
                    self.candidates_panel(ui);
                });
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
        let (j, k, l, ab, m) = (
            pressed(Key::J),
            pressed(Key::K),
            pressed(Key::L),
            pressed(Key::A) || pressed(Key::B),
            pressed(Key::M),
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
        if m {
            self.studio.tap();
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
            let is_audio = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
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
        let (fps, end) = self
            .studio
            .clip
            .as_ref()
            .map_or((25.0, 0.0), |c| (c.rate.fps(), c.duration));
        let span = (self.studio.playhead, end);
        match self
            .studio
            .selected
            .and_then(|i| self.studio.candidates.get(i).map(|c| (i, c)))
        {
            Some((i, c)) => {
                let start = c.range.0 + c.edits.nudge_frames as f64 / fps;
                let gain = 10f32.powf(c.edits.gain_db as f32 / 20.0);
                self.audition.play(i, &c.rendered.audio, start, gain, span);
            }
            None => self.audition.play(usize::MAX, &[], 0.0, 0.0, span),
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
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
