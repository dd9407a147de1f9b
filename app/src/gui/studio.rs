//! The editor's state and actions, apart from drawing: the open clip, the prompt and search
//! settings, the running job, the candidates with their non-destructive edits, export, and
//! the message log. The view calls these; the interaction tests drive them through the view.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use avsync_engine::AudioBuffer;
use avsync_engine::device::{ComputePreference, select};
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::{MediaInfo, WavFormat, probe};
use avsync_engine::models::adapters::AdapterScales;
use avsync_engine::pipeline::export::{
    master_candidate, mux_candidate, muxed_extension, write_candidate_wav,
};
use avsync_engine::pipeline::generate::FULL_BAND_RATE;
use avsync_engine::pipeline::model::{MANIFEST, SAMPLE_RATE, default_model_dir};
use avsync_engine::pipeline::render::SamplerSettings;
use avsync_engine::pipeline::{
    Event, GenerationRequest, Generator, Job, JobMessage, ReferenceSound, Stage,
};
use avsync_engine::schedule::SamplerKind;
use avsync_engine::verify::VerifierWeights;

use super::candidate::{CandidateItem, Edits};
use super::markers::Markers;
use super::project::{self, Session};
use super::timecode::Rate;

/// A generator being loaded, with the device's description.
type LoadingModel = std::sync::mpsc::Receiver<Result<(Generator, String), String>>;

/// The open clip.
pub struct Clip {
    /// Its file.
    pub path: PathBuf,
    /// What probing found.
    pub info: MediaInfo,
    /// Its frame rate.
    pub rate: Rate,
    /// Picture duration in seconds.
    pub duration: f64,
}

/// Progress of the running job.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Stage.
    pub stage: Stage,
    /// Row-steps done.
    pub done: usize,
    /// Row-steps planned.
    pub total: usize,
    /// Seconds left.
    pub eta_s: Option<f64>,
}

/// Everything the editor holds.
pub struct Studio {
    /// The open clip.
    pub clip: Option<Clip>,
    /// Playhead in seconds.
    pub playhead: f64,
    /// In/out range to generate for.
    pub range: (f64, f64),
    /// The request being edited (video and range are filled in when generating).
    pub request: GenerationRequest,
    /// Whether the seed stays fixed between generations.
    pub seed_locked: bool,
    /// Reference-sound path as typed.
    pub reference_path: String,
    /// EnCodec codebooks of the reference (1, 2, 4 or 8).
    pub reference_codebooks: usize,
    /// A reference already laid on the range (a candidate being varied): it is varied as
    /// it is, not placed on the events again.
    pub laid_reference: Option<PathBuf>,
    /// Candidates, best first within each generation.
    pub candidates: Vec<CandidateItem>,
    /// Selected candidate.
    pub selected: Option<usize>,
    /// Events the user tapped, marked or imitated.
    pub markers: Markers,
    /// The running job.
    pub job: Option<Job>,
    /// Its progress.
    pub progress: Option<Progress>,
    /// Model directory.
    pub model_dir: PathBuf,
    /// Compute device preference.
    pub compute: ComputePreference,
    /// Device name and why it was chosen.
    pub device_status: String,
    /// Messages, newest last (errors start with `error:`).
    pub log: Vec<String>,
    /// Export sample rate.
    pub export_rate: u32,
    /// Export WAV format.
    pub export_format: WavFormat,
    /// Container of the exported video (`mp4`, `mov`, `mkv`); `None` follows the clip.
    pub export_container: Option<String>,
    /// Folder exports go to; `None` exports beside the clip.
    pub export_dir: Option<PathBuf>,
    /// Where the project is saved.
    pub project_path: Option<PathBuf>,
    /// A project's clip that was not found, until relocated.
    pub missing_clip: Option<PathBuf>,
    /// Recently opened clips, newest first.
    pub recent: Vec<PathBuf>,
    /// Where the recent list is kept (`None`: not kept, as in tests).
    pub recent_file: Option<PathBuf>,
    /// Save the project this often while it has a path (`None`: never).
    pub autosave_every: Option<std::time::Duration>,
    last_autosave: std::time::Instant,
    generator: Option<(PathBuf, Arc<Mutex<Generator>>)>,
    /// A model loading on its thread, and the request waiting for it.
    loading: Option<(LoadingModel, GenerationRequest)>,
    generations: u64,
}

impl Default for Studio {
    fn default() -> Self {
        Self::new()
    }
}

impl Studio {
    /// An empty editor with the default settings.
    pub fn new() -> Self {
        Self {
            clip: None,
            playhead: 0.0,
            range: (0.0, 0.0),
            request: GenerationRequest {
                gmds: GmdsSettings {
                    population: 4,
                    iterations: 1,
                    ..GmdsSettings::default()
                },
                ..GenerationRequest::new("")
            },
            seed_locked: false,
            reference_path: String::new(),
            reference_codebooks: 4,
            laid_reference: None,
            candidates: Vec::new(),
            selected: None,
            markers: Markers::default(),
            job: None,
            progress: None,
            model_dir: default_model_dir(),
            compute: ComputePreference::Auto,
            device_status: String::new(),
            log: Vec::new(),
            export_rate: 48_000,
            export_format: WavFormat::Pcm24,
            export_container: None,
            export_dir: None,
            project_path: None,
            missing_clip: None,
            recent: Vec::new(),
            recent_file: None,
            autosave_every: None,
            last_autosave: std::time::Instant::now(),
            generator: None,
            loading: None,
            generations: 0,
        }
    }

    /// Log an error.
    pub(crate) fn error(&mut self, message: impl std::fmt::Display) {
        let line = format!("error: {message}");
        eprintln!("{line}");
        self.log.push(line);
    }

    /// Log a message.
    pub(crate) fn info(&mut self, message: impl std::fmt::Display) {
        self.log.push(message.to_string());
    }

    /// The last message, for the status bar.
    pub fn last_message(&self) -> Option<&str> {
        self.log.last().map(String::as_str)
    }

    /// Open a clip (probe it; a file without a picture is refused with a message).
    pub fn open(&mut self, path: &Path) {
        match probe(path) {
            Ok(info) => {
                let Some(v) = info.video.clone() else {
                    self.error(format!("{}: has no video stream", path.display()));
                    return;
                };
                let rate = Rate {
                    num: v.frame_rate.0.max(1) as u32,
                    den: v.frame_rate.1.max(1) as u32,
                };
                self.range = (0.0, v.duration_s);
                self.playhead = 0.0;
                self.markers.clear();
                self.clip = Some(Clip {
                    path: path.to_path_buf(),
                    info,
                    rate,
                    duration: v.duration_s,
                });
                self.info(format!("opened {}", path.display()));
                self.remember(path);
            }
            Err(e) => self.error(e),
        }
    }

    /// Frame step (`delta` frames) and clamp to the clip.
    pub fn step(&mut self, delta: i64) {
        if let Some(c) = &self.clip {
            let frame = c.rate.frame_at(self.playhead) as i64 + delta;
            let last = (c.duration * c.rate.fps()).ceil() as i64 - 1;
            self.playhead = frame.clamp(0, last.max(0)) as f64 / c.rate.fps() + 1e-6;
        }
    }

    /// Set the in (`true`) or out point at the playhead.
    pub fn mark(&mut self, is_in: bool) {
        if is_in {
            self.range.0 = self.playhead.min(self.range.1 - 0.01).max(0.0);
        } else {
            self.range.1 = self.playhead.max(self.range.0 + 0.01);
        }
    }

    /// Whether a generation is running.
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.loading.is_some()
    }

    /// Start generating for the in/out range with the current settings.
    /// Variations of the recording at `path`: it becomes the reference and candidates vary
    /// it, laid as it is when `as_laid` (a candidate), else placed on the events.
    pub fn vary(&mut self, path: PathBuf, as_laid: bool) {
        if self.busy() {
            return;
        }
        self.reference_path = path.display().to_string();
        self.laid_reference = as_laid.then(|| path.clone());
        if self.request.anchoring.strength >= 1.0 {
            self.request.anchoring.strength = avsync_engine::pipeline::request::DEFAULT_STRENGTH;
            self.info("variation strength set to the default: 1 would not start from the sound");
        }
        self.generate();
    }

    /// Variations of candidate `index`: its sound is kept as a take beside the exports and
    /// varied as it is laid.
    pub fn vary_candidate(&mut self, index: usize) {
        match self.keep_take(index) {
            Ok(path) => self.vary(path, true),
            Err(e) => self.error(e),
        }
    }

    /// Write candidate `index` (full band when it has one) as a WAV beside the exports, under
    /// a name not taken yet.
    fn keep_take(&self, index: usize) -> avsync_engine::Result<PathBuf> {
        let (clip, c) = self.clip_and_candidate(index)?;
        let (dir, stem) = self.output_place(&clip.path);
        let path = (1..)
            .map(|n| dir.join(format!("{stem}_take_{}_{n}.wav", index + 1)))
            .find(|p| !p.exists())
            .expect("an unused name");
        let audio = match &c.rendered.full_band {
            Some(full) => AudioBuffer::new(FULL_BAND_RATE, 1, full.clone()),
            None => AudioBuffer::new(SAMPLE_RATE, 1, c.rendered.audio.clone()),
        };
        avsync_engine::media::write_wav(
            &path,
            &audio,
            &avsync_engine::media::WavSpec {
                format: WavFormat::Float32,
                bext: None,
            },
        )
    }

    pub fn generate(&mut self) {
        if self.busy() {
            return;
        }
        let Some(clip) = &self.clip else {
            self.error("open a clip first");
            return;
        };
        let mut request = self.request.clone();
        request.video = clip.path.clone();
        request.start_s = Some(self.range.0);
        request.end_s = Some(self.range.1.min(clip.duration));
        request.reference = (!self.reference_path.trim().is_empty()).then(|| ReferenceSound {
            path: PathBuf::from(self.reference_path.trim()),
            codebooks: self.reference_codebooks,
        });
        request.anchoring.as_laid = request
            .reference
            .as_ref()
            .is_some_and(|r| self.laid_reference.as_ref() == Some(&r.path));
        if request.anchoring.library.is_none() {
            request.anchoring.library =
                crate::settings::default_library_index().filter(|p| p.is_file());
        }
        request.events = (!self.markers.is_empty()).then(|| self.markers.times().to_vec());
        if !self.seed_locked && self.generations > 0 {
            request.seed = self.request.seed.wrapping_add(1_000);
            self.request.seed = request.seed;
        }
        if let Err(e) = request.validate() {
            self.error(e);
            return;
        }
        self.generations += 1;
        self.progress = None;
        if let Some((dir, g)) = &self.generator
            && *dir == self.model_dir
        {
            let g = g.clone();
            self.info(format!("generating (seed {})", request.seed));
            self.job = Some(Job::spawn(g, request));
            return;
        }
        if !self.model_dir.join(MANIFEST).is_file() {
            self.error(format!(
                "{}: no model here; choose a model directory in the settings",
                self.model_dir.display()
            ));
            return;
        }
        // Loading a model takes from a second to minutes: do it off the interface thread,
        // then start the request.
        let (tx, rx) = std::sync::mpsc::channel();
        let (dir, preference) = (self.model_dir.clone(), self.compute);
        std::thread::spawn(move || {
            let compute = select(preference);
            let status = format!("{} ({})", compute.name, compute.reason);
            let _ = tx.send(
                Generator::load(&dir, compute.device)
                    .map(|g| (g, status))
                    .map_err(|e| e.to_string()),
            );
        });
        self.info(format!("loading {}", self.model_dir.display()));
        self.loading = Some((rx, request));
    }

    /// Start the pending request once its model has loaded.
    fn poll_loading(&mut self) {
        let Some((rx, _)) = &self.loading else {
            return;
        };
        let Ok(result) = rx.try_recv() else {
            return;
        };
        let Some((_, request)) = self.loading.take() else {
            return;
        };
        match result {
            Ok((g, status)) => {
                self.device_status = status;
                let g = Arc::new(Mutex::new(g));
                self.generator = Some((self.model_dir.clone(), g.clone()));
                self.info(format!("generating (seed {})", request.seed));
                self.job = Some(Job::spawn(g, request));
            }
            Err(e) => self.error(e),
        }
    }

    /// Ask the running job to stop.
    pub fn cancel(&mut self) {
        if let Some(j) = &self.job {
            j.cancel();
            self.info("cancelling");
        }
        if self.loading.take().is_some() {
            self.info("cancelled while loading the model");
        }
    }

    /// Take in what the job reported; candidates appear as they finish.
    pub fn poll(&mut self) {
        self.poll_loading();
        let Some(job) = &self.job else {
            return;
        };
        let mut finished = None;
        let mut new = Vec::new();
        while let Ok(m) = job.messages.try_recv() {
            match m {
                JobMessage::Event(Event::Progress {
                    stage,
                    done,
                    total,
                    eta_s,
                }) => {
                    self.progress = Some(Progress {
                        stage,
                        done,
                        total,
                        eta_s,
                    })
                }
                JobMessage::Event(Event::Stage(stage)) => {
                    let (done, total) = self.progress.map_or((0, 0), |p| (p.done, p.total));
                    self.progress = Some(Progress {
                        stage,
                        done,
                        total,
                        eta_s: None,
                    });
                }
                JobMessage::Event(Event::Candidate(c)) => new.push(*c),
                JobMessage::Finished(r) => finished = Some(r),
            }
        }
        let seed = self.request.seed;
        for c in new {
            let range = self.range;
            self.candidates.push(CandidateItem {
                name: format!(
                    "#{} seed {seed} rank {}",
                    self.candidates.len() + 1,
                    c.rank + 1
                ),
                rendered: c,
                seed,
                range,
                edits: Edits::default(),
            });
            if self.selected.is_none() {
                self.selected = Some(self.candidates.len() - 1);
            }
        }
        if let Some(r) = finished {
            self.job = None;
            self.progress = None;
            match r {
                Ok(Some(report)) => self.info(format!(
                    "done: {} candidates in {:.1} s",
                    report.candidates.len(),
                    report.timings.total_s
                )),
                Ok(None) => self.info("cancelled"),
                Err(e) => self.error(e),
            }
        }
    }

    /// Wait for the running job to end (tests and shutdown).
    pub fn wait(&mut self) {
        while self.busy() {
            std::thread::sleep(std::time::Duration::from_millis(10));
            self.poll();
        }
    }

    /// Export candidate `index` as a WAV and muxed into a copy of the clip, into the export
    /// folder; returns the files written.
    pub fn export(&mut self, index: usize) -> Vec<PathBuf> {
        match self.try_export(index) {
            Ok(files) => {
                for f in &files {
                    self.info(format!("exported {}", f.display()));
                }
                files
            }
            Err(e) => {
                self.error(e);
                Vec::new()
            }
        }
    }

    /// The folder files made from the clip at `clip_path` go to (the export folder, else
    /// beside the clip) and the clip's file stem that names them.
    pub(crate) fn output_place(&self, clip_path: &Path) -> (PathBuf, String) {
        let dir = self.export_dir.clone().unwrap_or_else(|| {
            clip_path
                .parent()
                .map_or_else(std::env::temp_dir, Path::to_path_buf)
        });
        let stem = clip_path
            .file_stem()
            .map_or_else(|| "clip".into(), |s| s.to_string_lossy().into_owned());
        (dir, stem)
    }

    /// The open clip and candidate `index`, or why there are none.
    fn clip_and_candidate(&self, index: usize) -> avsync_engine::Result<(&Clip, &CandidateItem)> {
        let clip = self
            .clip
            .as_ref()
            .ok_or_else(|| avsync_engine::Error::invalid("no clip is open"))?;
        let c = self
            .candidates
            .get(index)
            .ok_or_else(|| avsync_engine::Error::invalid("no such candidate"))?;
        Ok((clip, c))
    }

    fn try_export(&self, index: usize) -> avsync_engine::Result<Vec<PathBuf>> {
        let (clip, c) = self.clip_and_candidate(index)?;
        let (dir, stem) = self.output_place(&clip.path);
        let fps = clip.rate.fps();
        let (audio, loudness) = master_candidate(&c.rendered, &c.master(self.export_rate), fps)?;
        let wav = dir.join(format!("{stem}_avsync_{}.wav", index + 1));
        let wav = write_candidate_wav(
            &audio,
            loudness,
            c.range.0,
            self.export_format,
            &c.name,
            &wav,
        )?
        .path;
        let ext = muxed_extension(&clip.path, self.export_container.as_deref());
        let video = dir.join(format!("{stem}_avsync_{}.{ext}", index + 1));
        avsync_engine::media::output::ensure_not_source(&video, &[&clip.path])?;
        let muxed = mux_candidate(&clip.path, &audio, c.range.0, &video)?;
        Ok(vec![wav, muxed.path])
    }

    /// The per-user file of recent clips (`$XDG_CONFIG_HOME/avsync/recent.json`).
    pub fn default_recent_file() -> Option<PathBuf> {
        crate::settings::config_dir().map(|d| d.join("recent.json"))
    }

    /// Read the recent list from `recent_file` (a missing or bad file is an empty list).
    pub fn load_recent(&mut self) {
        self.recent = self
            .recent_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    }

    fn remember(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(10);
        if let Some(file) = &self.recent_file {
            let saved = file
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .ok()
                .and_then(|_| serde_json::to_vec_pretty(&self.recent).ok())
                .map(|json| {
                    avsync_engine::media::output::write_atomic(file, |w| w.write_all(&json))
                });
            if let Some(Err(e)) = saved {
                self.log
                    .push(format!("error: cannot keep the recent files: {e}"));
            }
        }
    }

    /// Save the project if it has a path and the autosave interval has passed.
    pub fn autosave(&mut self) {
        let Some(every) = self.autosave_every else {
            return;
        };
        if self.busy() || self.last_autosave.elapsed() < every {
            return;
        }
        self.last_autosave = std::time::Instant::now();
        if let Some(path) = self.project_path.clone()
            && let Err(e) = project::save(&path, &self.session(), &self.candidates)
        {
            self.error(format!("autosave: {e}"));
        }
    }

    /// Use `preference` for the next generation (the model is reloaded on that device).
    pub fn set_compute(&mut self, preference: ComputePreference) {
        if preference != self.compute {
            self.compute = preference;
            self.generator = None;
        }
    }

    /// Export every kept candidate as a WAV stem (and its muxed clip).
    pub fn export_stems(&mut self) {
        let kept: Vec<usize> = (0..self.candidates.len())
            .filter(|&i| self.candidates[i].edits.keep)
            .collect();
        if kept.is_empty() {
            self.error("no kept candidates to export");
        }
        for i in kept {
            self.export(i);
        }
    }

    /// Save the session to `path` (or the project's path, or beside the clip).
    pub fn save_project(&mut self, path: Option<PathBuf>) {
        let path = path
            .or_else(|| self.project_path.clone())
            .or_else(|| self.clip.as_ref().map(|c| c.path.with_extension("avsync")));
        let Some(path) = path else {
            self.error("nothing to save: open a clip first");
            return;
        };
        match project::save(&path, &self.session(), &self.candidates) {
            Ok(()) => {
                self.info(format!("saved {}", path.display()));
                self.project_path = Some(path);
            }
            Err(e) => self.error(e),
        }
    }

    /// Replace the session with the project at `path`; moved media is reported.
    pub fn load_project(&mut self, path: &Path) {
        let loaded = match project::load(path) {
            Ok(loaded) => loaded,
            Err(e) => return self.error(e),
        };
        let session = loaded.session;
        self.clip = None;
        let missing_clip = session.clip.clone().filter(|clip| !clip.is_file());
        if let Some(clip) = &session.clip
            && missing_clip.is_none()
        {
            self.open(clip);
        }
        self.range = session.range;
        self.playhead = session.playhead;
        self.request = session.request;
        self.seed_locked = session.seed_locked;
        self.reference_path = session.reference_path;
        self.model_dir = session.model_dir;
        self.markers = Markers::from_saved(session.markers);
        self.candidates = loaded.candidates;
        self.selected = session.selected.filter(|s| *s < self.candidates.len());
        self.project_path = Some(path.to_path_buf());
        self.info(format!("loaded {}", path.display()));
        if let Some(clip) = missing_clip {
            self.error(format!(
                "{}: the clip is missing or moved; relocate it",
                clip.display()
            ));
            self.missing_clip = Some(clip);
        }
        for a in loaded.missing_audio {
            self.error(format!(
                "{}: candidate audio missing, left out",
                a.display()
            ));
        }
    }

    /// The session as a project file holds it.
    pub fn session(&self) -> Session {
        Session {
            clip: self.clip.as_ref().map(|c| c.path.clone()),
            range: self.range,
            playhead: self.playhead,
            request: self.request.clone(),
            seed_locked: self.seed_locked,
            reference_path: self.reference_path.clone(),
            model_dir: self.model_dir.clone(),
            selected: self.selected,
            markers: self.markers.times().to_vec(),
        }
    }

    /// Point the project at the clip's new place, keeping the range and the candidates.
    pub fn relocate(&mut self, path: &Path) {
        let (range, playhead) = (self.range, self.playhead);
        let markers = std::mem::take(&mut self.markers);
        self.open(path);
        if self.clip.is_some() {
            self.range = range;
            self.playhead = playhead;
            self.markers = markers;
            self.missing_clip = None;
        }
    }

    /// Sampler kind, for the settings panel.
    pub fn set_sampler(&mut self, kind: SamplerKind) {
        self.request.sampler = SamplerSettings {
            kind,
            ..self.request.sampler
        };
    }

    /// Reset adapter strengths and verifier weights.
    pub fn reset_strengths(&mut self) {
        self.request.scales = AdapterScales::default();
        self.request.verifiers = VerifierWeights::default();
    }
}
