//! `avsync generate --video V --out DIR [...]`: candidates for one clip, each as a WAV, the
//! best muxed into a copy of the video, and a JSON report.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use avsync_engine::device::{ComputePreference, select};
use avsync_engine::dsp::master::{LoudnessTarget, MasterSettings};
use avsync_engine::features::events::EventPicking;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::WavFormat;
use avsync_engine::media::output::ensure_not_source;
use avsync_engine::models::adapters::AdapterScales;
use avsync_engine::pipeline::export::{
    ExportedWav, master_candidate, mux_candidate, muxed_extension, write_candidate_wav,
};
use avsync_engine::pipeline::model::default_model_dir;
use avsync_engine::pipeline::render::SamplerSettings;
use avsync_engine::pipeline::request::{DEFAULT_RETRIEVE, DEFAULT_STRENGTH};
use avsync_engine::pipeline::{
    Anchoring, Event, GenerationReport, GenerationRequest, Generator, Job, ReferenceSound,
};
use avsync_engine::schedule::SamplerKind;
use avsync_engine::verify::VerifierWeights;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Prompt, search and sampler settings shared by `generate` and `batch`.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// What should be heard.
    #[arg(long, default_value = "")]
    pub text: String,
    /// What should not be heard.
    #[arg(long, default_value = "")]
    pub negative: String,
    /// Reference sound (any audio file); without one, recordings matching the text are
    /// retrieved from the library.
    #[arg(long)]
    pub ref_audio: Option<PathBuf>,
    /// Variation strength, 0 to 1: 0 delivers the recording placed on the picture's events,
    /// 1 generates from noise with the recording only as the audio prompt.
    #[arg(long, default_value_t = DEFAULT_STRENGTH)]
    pub strength: f64,
    /// Recordings retrieved from the library when no reference is given (0: none).
    #[arg(long, default_value_t = DEFAULT_RETRIEVE)]
    pub retrieve: usize,
    /// Library index to retrieve from (default: yours, from `library index`, else the
    /// starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// The reference is already laid on the range (an earlier candidate to vary again): it is
    /// varied as it is, not placed on the events.
    #[arg(long)]
    pub as_laid: bool,
    /// Event times in seconds of the clip, comma-separated (taps, markers): they replace the
    /// events picked from the picture.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub events: Option<Vec<f64>>,
    /// How readily events are picked from the picture, 0 to 1 (higher picks more).
    #[arg(long, default_value_t = EventPicking::default().sensitivity)]
    pub event_sensitivity: f32,
    /// EnCodec codebooks of the reference (1, 2, 4 or 8).
    #[arg(long, default_value_t = 4)]
    pub codebooks: usize,
    /// GMDS population N.
    #[arg(long, default_value_t = 6)]
    pub candidates: usize,
    /// GMDS iterations T (0 = best of N).
    #[arg(long, default_value_t = 2)]
    pub gmds_iters: usize,
    /// beta_s of eq. 4: the far, exploring proposal, in (0, 1).
    #[arg(long, default_value_t = 0.5)]
    pub beta_s: f64,
    /// beta_l of eq. 5: the near, refining proposal, in (0, 1).
    #[arg(long, default_value_t = 0.9)]
    pub beta_l: f64,
    /// Candidates rendered at full quality and written.
    #[arg(long, default_value_t = 2)]
    pub keep: usize,
    /// Sampling steps of the final renders.
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    /// Sampling steps while searching.
    #[arg(long, default_value_t = 4)]
    pub search_steps: usize,
    /// Search at full quality, as the paper does (slower).
    #[arg(long)]
    pub exact: bool,
    /// Sampler: dpm-solver, ddim or ddpm.
    #[arg(long, default_value = "dpm-solver")]
    pub scheduler: SamplerKind,
    /// Classifier-free guidance scale.
    #[arg(long, default_value_t = 3.0)]
    pub guidance: f64,
    /// Seed of everything random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Strength of the global video adapter.
    #[arg(long, default_value_t = 1.0)]
    pub video_scale: f64,
    /// Strength of the frame adapter.
    #[arg(long, default_value_t = 1.0)]
    pub frames_scale: f64,
    /// Strength of the reference-audio adapter.
    #[arg(long, default_value_t = 1.0)]
    pub audio_scale: f64,
    /// Weight of the sync verifier.
    #[arg(long, default_value_t = 1.0)]
    pub w_sync: f64,
    /// Weight of the reference verifier.
    #[arg(long, default_value_t = 1.0)]
    pub w_reference: f64,
    /// Weight of the text verifier.
    #[arg(long, default_value_t = 1.0)]
    pub w_text: f64,
    /// Most candidates through the network at once.
    #[arg(long, default_value_t = 8)]
    pub max_batch: usize,
    /// Output sample rate: 48000, 44100 or 16000.
    #[arg(long, default_value_t = 48_000)]
    pub sample_rate: u32,
    /// Integrated loudness target in LUFS.
    #[arg(long, default_value_t = -23.0, allow_hyphen_values = true)]
    pub lufs: f64,
    /// True-peak ceiling in dBTP.
    #[arg(long, default_value_t = -1.0, allow_hyphen_values = true)]
    pub ceiling: f64,
    /// Keep the model's level (no loudness normalisation).
    #[arg(long)]
    pub no_normalize: bool,
    /// Shift the delivered audio by this many video frames (positive = later).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub offset_frames: i64,
    /// WAV sample format: pcm24, pcm16 or float.
    #[arg(long, default_value = "pcm24")]
    pub format: String,
    /// Model: `default` or a model directory.
    #[arg(long, default_value = "default")]
    pub model: String,
    /// Compute device: auto, gpu or cpu.
    #[arg(long, default_value = "auto")]
    pub device: ComputePreference,
}

impl SettingsArgs {
    /// The request for `video` over `[start, end)`.
    pub fn request(&self, video: &Path, start: Option<f64>, end: Option<f64>) -> GenerationRequest {
        self.request_with(video, start, end, &self.text, self.ref_audio.as_deref())
    }

    /// As [`SettingsArgs::request`] with a given text and reference (per-clip in a batch).
    pub fn request_with(
        &self,
        video: &Path,
        start: Option<f64>,
        end: Option<f64>,
        text: &str,
        reference: Option<&Path>,
    ) -> GenerationRequest {
        GenerationRequest {
            start_s: start,
            end_s: end,
            text: text.to_string(),
            negative: self.negative.clone(),
            reference: reference.map(|p| ReferenceSound {
                path: p.to_path_buf(),
                codebooks: self.codebooks,
            }),
            scales: AdapterScales {
                video: self.video_scale,
                frames: self.frames_scale,
                audio: self.audio_scale,
            },
            sampler: SamplerSettings {
                kind: self.scheduler,
                steps: self.steps,
                guidance: self.guidance,
            },
            search_steps: (!self.exact).then_some(self.search_steps),
            keep: self.keep,
            seed: self.seed,
            gmds: GmdsSettings {
                population: self.candidates,
                iterations: self.gmds_iters,
                explore: self.beta_s,
                refine: self.beta_l,
            },
            events: self.events.clone(),
            event_sensitivity: self.event_sensitivity,
            verifiers: VerifierWeights {
                sync: self.w_sync,
                reference: self.w_reference,
                text: self.w_text,
            },
            max_batch: self.max_batch,
            anchoring: Anchoring {
                strength: self.strength,
                retrieve: self.retrieve,
                library: self
                    .library
                    .clone()
                    .or_else(|| crate::settings::default_library_index().filter(|p| p.is_file())),
                as_laid: self.as_laid,
            },
            ..GenerationRequest::new(video)
        }
    }

    /// Delivery settings.
    pub fn master(&self) -> MasterSettings {
        MasterSettings {
            sample_rate: self.sample_rate,
            loudness: (!self.no_normalize).then_some(LoudnessTarget {
                lufs: self.lufs,
                ceiling_dbtp: self.ceiling,
            }),
            offset_frames: self.offset_frames,
            ..MasterSettings::default()
        }
    }

    /// WAV format.
    pub fn wav_format(&self) -> Result<WavFormat> {
        match self.format.as_str() {
            "pcm24" => Ok(WavFormat::Pcm24),
            "pcm16" => Ok(WavFormat::Pcm16),
            "float" | "float32" => Ok(WavFormat::Float32),
            other => anyhow::bail!("unknown WAV format `{other}` (pcm24, pcm16, float)"),
        }
    }

    /// The model directory.
    pub fn model_dir(&self) -> Result<PathBuf> {
        if self.model == "default" {
            let dir = default_model_dir();
            anyhow::ensure!(
                dir.join(avsync_engine::pipeline::model::MANIFEST).is_file(),
                "{}: the default model is not installed; pass --model DIR with a model directory",
                dir.display()
            );
            Ok(dir)
        } else {
            Ok(PathBuf::from(&self.model))
        }
    }

    /// Load the generator.
    pub fn generator(&self) -> Result<Arc<Mutex<Generator>>> {
        let compute = select(self.device);
        let dir = self.model_dir()?;
        let bar =
            super::progress::spinner(&format!("loading {} on {}", dir.display(), compute.name));
        let g = Generator::load(&dir, compute.device)?;
        bar.finish_and_clear();
        Ok(Arc::new(Mutex::new(g)))
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The video to generate sound for.
    #[arg(long)]
    video: PathBuf,
    /// Start of the range in seconds.
    #[arg(long)]
    start: Option<f64>,
    /// End of the range in seconds.
    #[arg(long)]
    end: Option<f64>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// What `generate` writes for one clip.
#[derive(Debug, Serialize)]
pub struct ClipOutput {
    /// The generation.
    pub report: GenerationReport,
    /// One WAV per final candidate, best first.
    pub wavs: Vec<ExportedWav>,
    /// The best candidate muxed into the video.
    pub muxed: avsync_engine::media::MuxReport,
    /// Compute device.
    pub device: String,
}

pub fn run(a: &GenerateArgs) -> Result<()> {
    let request = a.settings.request(&a.video, a.start, a.end);
    request.validate()?;
    a.settings.wav_format()?;
    anyhow::ensure!(
        a.video.is_file(),
        "{}: no such video file",
        a.video.display()
    );
    let generator = a.settings.generator()?;
    let out = generate_clip(&generator, &request, &a.settings, &a.out, true)?;
    println!("{}", serde_json::to_string_pretty(&summary(&out))?);
    Ok(())
}

/// A short summary for the terminal.
fn summary(out: &ClipOutput) -> serde_json::Value {
    serde_json::json!({
        "video": out.muxed.path.display().to_string(),
        "wavs": out.wavs.iter().map(|w| w.path.display().to_string()).collect::<Vec<_>>(),
        "scores": out.report.candidates.iter().map(|c| c.score).collect::<Vec<_>>(),
        "sources": out.report.candidates.iter().map(|c| c.source.as_ref().map(|s| {
            format!("{} ({})", s.path.display(), s.licence)
        })).collect::<Vec<_>>(),
        "network_evaluations": out.report.network_evaluations,
        "seconds": out.report.timings.total_s,
    })
}

/// Generate for one request and write its files into `dir` (created once the generation
/// succeeded, so a failed request leaves nothing behind).
pub fn generate_clip(
    generator: &Arc<Mutex<Generator>>,
    request: &GenerationRequest,
    settings: &SettingsArgs,
    dir: &Path,
    show_progress: bool,
) -> Result<ClipOutput> {
    let device = generator
        .lock()
        .map(|g| format!("{:?}", g.device))
        .unwrap_or_default();
    let bar = if show_progress {
        ProgressBar::new(1)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:30}] {percent:>3}% eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let job = Job::spawn(generator.clone(), request.clone());
    let report = job
        .wait(|e| match e {
            Event::Stage(s) => bar.set_message(format!("{s:?}").to_lowercase()),
            Event::Progress { done, total, .. } => {
                bar.set_length(*total as u64);
                bar.set_position(*done as u64);
            }
            Event::Candidate(_) => {}
        })?
        .ok_or_else(|| anyhow::anyhow!("generation cancelled"))?;
    bar.finish_and_clear();
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;

    let master = settings.master();
    let format = settings.wav_format()?;
    let stem = request
        .video
        .file_stem()
        .map_or_else(|| "clip".into(), |s| s.to_string_lossy().into_owned());
    let mut wavs = Vec::with_capacity(report.candidates.len());
    let mut best = None;
    for c in &report.candidates {
        let (audio, loudness) = master_candidate(c, &master, report.fps)?;
        let path = dir.join(format!("{stem}_candidate{}.wav", c.rank + 1));
        ensure_not_source(&path, &[&request.video])?;
        let from = c.source.as_ref().map_or_else(String::new, |s| {
            let name = s.path.file_name().unwrap_or_default().to_string_lossy();
            format!(", from {name} ({})", s.licence)
        });
        let description = format!(
            "{} (seed {}, score {:.3}{from})",
            request.text, request.seed, c.score
        );
        wavs.push(write_candidate_wav(
            &audio,
            loudness,
            report.range.0,
            format,
            &description,
            &path,
        )?);
        if best.is_none() {
            best = Some(audio);
        }
    }
    let best = best.ok_or_else(|| anyhow::anyhow!("the generation returned no candidate"))?;
    let ext = muxed_extension(&request.video, None);
    let video_out = dir.join(format!("{stem}_avsync.{ext}"));
    ensure_not_source(&video_out, &[&request.video])?;
    let muxed = mux_candidate(&request.video, &best, report.range.0, &video_out)?;
    let out = ClipOutput {
        report,
        wavs,
        muxed,
        device,
    };
    let json = serde_json::to_vec_pretty(&out)?;
    avsync_engine::media::output::write_atomic(&dir.join(format!("{stem}_report.json")), |w| {
        w.write_all(&json)
    })?;
    Ok(out)
}
