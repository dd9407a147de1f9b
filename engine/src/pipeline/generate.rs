//! One generation, start to end: analyse the picture, find the recordings to start from
//! (the user's reference, or those the description retrieves from the library), lay each
//! on the picture as a draft, encode the conditions, search the initial noise with GMDS
//! (few sampling steps, all proposals of an iteration in one batch, each candidate varying
//! one of the recordings), render the best candidates at full quality, voice them and stitch
//! the windows.
//!
//! With a draft, a candidate is the draft's latents noised to the variation strength and
//! denoised (SDEdit), voiced through the draft's own phase, with the draft's band above the
//! model's 8 kHz kept for a full-band delivery. At strength 0 the drafts themselves are the
//! candidates (the verifiers still choose among recordings and placements); at strength 1,
//! or with no recording, candidates are generated from noise as in the paper.

use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use burn::tensor::{Tensor, TensorData};

use super::cache::FeatureCache;
use super::conditioning::{
    ConditionSet, VisualFeatures, conditions, load_reference, reference_tokens, visual_features,
};
use super::draft::{MotionLevel, SoundKind, draft, sound_kind};
use super::model::{FrameEncoder, HOP_SECONDS, Model, SAMPLE_RATE};
use super::render::{
    LatentJob, Networks, SamplerSettings, Variation, Vocoding, fingerprint, latents, mels,
    steps_run, waveforms,
};
use super::request::GenerationRequest;
use super::retrieval::{SourceRecording, retrieve};
use super::scoring::Scorer;
use super::spot::SpotEvent;
use super::windows::WindowPlan;
use crate::audio::AudioBuffer;
use crate::dsp::draft_voicing::{add_high_band, voice_over_draft};
use crate::dsp::griffin_lim::GriffinLimConfig;
use crate::dsp::looping::{Seam, change_at};
use crate::dsp::{MelExtractor, MelSpectrogram};
use crate::error::{Error, Result};
use crate::features::events::{EventPicking, pick_events};
use crate::features::track::MotionTrack;
use crate::gmds::{Lineage, Objective, Proposal, Scored, search};
use crate::media::{DecodeOptions, decode_audio, probe, resample};
use crate::models::unet::ProjectedConditions;
use crate::verify::{CandidateView, VerifierScore, combine};

/// Sample rate of full-band deliveries (the draft's own band above the model's 8 kHz).
pub const FULL_BAND_RATE: u32 = 48_000;

/// Griffin-Lim iterations from the draft's phase for a final render (a search's drafts keep
/// the draft's phase as it is).
const DRAFT_PHASE_ITERATIONS: usize = 4;

/// Stages of a generation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Decoding the picture and measuring motion.
    Analyse,
    /// Encoding text, picture and reference sound.
    Encode,
    /// GMDS over initial noises.
    Search,
    /// Full-quality renders of the picks.
    Render,
    /// Vocoding and stitching.
    Vocode,
}

/// What a running generation reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A stage began.
    Stage(Stage),
    /// Network work done so far: `done` of `total` row-steps, with an estimate of the time
    /// left from the pace so far.
    Progress {
        /// Current stage.
        stage: Stage,
        /// Row-steps done.
        done: usize,
        /// Row-steps planned.
        total: usize,
        /// Seconds left, once there is a pace to go by.
        eta_s: Option<f64>,
    },
    /// A final candidate is ready (best first).
    Candidate(Box<RenderedCandidate>),
}

/// A final candidate.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedCandidate {
    /// Rank among the finals (0 = best).
    pub rank: usize,
    /// Id of the search candidate it renders.
    pub id: usize,
    /// How its noise came to be.
    pub lineage: Lineage,
    /// Combined score while searching.
    pub search_score: f64,
    /// Combined score of the final render.
    pub score: f64,
    /// Per-verifier scores of the final render.
    pub scores: Vec<VerifierScore>,
    /// Mono waveform at [`SAMPLE_RATE`] covering the range.
    #[serde(skip)]
    pub audio: Vec<f32>,
    /// Its log-mel spectrogram (as decoded by the VAE, stitched).
    #[serde(skip)]
    pub mel: MelSpectrogram,
    /// The same candidate at [`FULL_BAND_RATE`], with the recording's own band above the
    /// model's 8 kHz, when it varies a recording.
    #[serde(skip)]
    pub full_band: Option<Vec<f32>>,
    /// The recording it was made from, if any.
    pub source: Option<SourceRecording>,
    /// How that recording was laid on the picture.
    pub placement: Option<SoundKind>,
    /// Level and spectral continuity where the windows join (both ends of each overlap).
    pub joins: Vec<Join>,
}

/// How much a candidate changes where two windows join, next to how much it changes
/// elsewhere: a join should be no more audible than the sound's own movement.
#[derive(Debug, Clone, Serialize)]
pub struct Join {
    /// Seconds from the range's start.
    pub at_s: f64,
    /// The change there and elsewhere.
    pub change: Seam,
}

/// The joins of `audio` (at the model's rate) stitched by `plan`: where each overlap begins
/// and ends. Joins too near an end to measure are left out.
pub fn measure_joins(plan: &WindowPlan, audio: &[f32]) -> Vec<Join> {
    let mut at = Vec::new();
    for w in 1..plan.len() {
        at.push(plan.starts[w] - plan.range.0);
        at.push(plan.starts[w - 1] + plan.window_s - plan.range.0);
    }
    at.into_iter()
        .filter_map(|t| {
            let sample = (t * f64::from(SAMPLE_RATE)).round() as usize;
            change_at(audio, sample, SAMPLE_RATE)
                .ok()
                .map(|change| Join { at_s: t, change })
        })
        .collect()
}

/// One scored search candidate.
#[derive(Debug, Clone, Serialize)]
pub struct SearchEntry {
    /// Order in which it was scored.
    pub id: usize,
    /// How its noise came to be.
    pub lineage: Lineage,
    /// Combined score.
    pub score: f64,
    /// Per-verifier scores.
    pub scores: Vec<VerifierScore>,
    /// Which of the report's sources it varies (none when generated without a recording).
    pub source: Option<usize>,
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Picture analysis.
    pub analyse_s: f64,
    /// Condition encoding.
    pub encode_s: f64,
    /// GMDS.
    pub search_s: f64,
    /// Full-quality renders.
    pub render_s: f64,
    /// Vocoder and stitching.
    pub vocode_s: f64,
    /// Everything.
    pub total_s: f64,
}

/// The outcome of a generation.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationReport {
    /// Model name.
    pub model: String,
    /// The request as run.
    pub request: GenerationRequest,
    /// Range generated, in seconds of the clip.
    pub range: (f64, f64),
    /// The clip's frame rate.
    pub fps: f64,
    /// Windows.
    pub windows: WindowPlan,
    /// The recordings the candidates were made from (given or retrieved), best match first.
    pub sources: Vec<SourceRecording>,
    /// The events the drafts were laid on and the sync verifier scored against.
    pub events: Vec<UsedEvent>,
    /// What the user should know about how it ran (a library that could not be read, a
    /// recording that could not be decoded, ...).
    pub notes: Vec<String>,
    /// Final candidates, best first.
    pub candidates: Vec<RenderedCandidate>,
    /// Every candidate the search scored, best first.
    pub search: Vec<SearchEntry>,
    /// Best search score after the initial population and after each iteration.
    pub best_by_iteration: Vec<f64>,
    /// U-Net evaluations of single latents (guidance counts two), search and renders.
    pub network_evaluations: usize,
    /// Of which in the search.
    pub search_evaluations: usize,
    /// Time per stage.
    pub timings: Timings,
}

/// Where an event of a generation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Picked from the picture.
    Picture,
    /// The user's markers or event list.
    Given,
}

/// One event a generation used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UsedEvent {
    /// Seconds of the clip.
    pub time_s: f64,
    /// How sure the picker was (1 for the user's own).
    pub confidence: f32,
    /// Where it came from.
    pub from: EventSource,
    /// The region of the picture that moved (`[x0, y0, x1, y1]`, fractions), when picked.
    pub region: Option<[f32; 4]>,
}

/// Reports events; returning `false` cancels the generation.
pub type EventSink<'a> = dyn FnMut(Event) -> bool + 'a;

/// The longest range one generation covers: its audio, latents and motion track stay in
/// memory (about 40 MB a minute per kept candidate); a scene is generated in parts.
pub const MAX_RANGE_S: f64 = 20.0 * 60.0;

/// Run `request` with `model`. Returns `None` when `events` cancels.
pub fn generate(
    model: &Model,
    request: &GenerationRequest,
    cache: &mut FeatureCache,
    device: &Device,
    events: &mut EventSink<'_>,
) -> Result<Option<GenerationReport>> {
    request.validate()?;
    let started = Instant::now();
    let mut timings = Timings::default();
    let video = &request.video;

    // Range and analysis.
    if !events(Event::Stage(Stage::Analyse)) {
        return Ok(None);
    }
    let info = probe(video)?;
    let v = info
        .video
        .as_ref()
        .ok_or_else(|| Error::media(video, "has no video stream to generate sound for"))?;
    let duration = v.duration_s;
    let start = request.start_s.unwrap_or(0.0);
    let end = request.end_s.unwrap_or(duration);
    let tolerance = 1.0 / v.fps.max(1.0);
    if start >= duration || end > duration + tolerance {
        return Err(Error::media(
            video,
            format!("the range {start:.3}-{end:.3} s lies outside the clip (0-{duration:.3} s)"),
        ));
    }
    let end = end.min(duration);
    if end - start > MAX_RANGE_S {
        return Err(Error::media(
            video,
            format!(
                "the range {start:.3}-{end:.3} s is {:.0} min long; one generation covers at most \
                 {:.0} min (generate the scene in parts)",
                (end - start) / 60.0,
                MAX_RANGE_S / 60.0
            ),
        ));
    }
    let grid = match &model.frames {
        FrameEncoder::Motion { grid, .. } => *grid,
        FrameEncoder::Clip { .. } => 4,
    };
    let track = cache.track(video, (start, end), grid, || {
        MotionTrack::analyse(video, (start, end), grid)
    })?;
    let plan = WindowPlan::new((start, end), model.window_seconds())?;
    timings.analyse_s = started.elapsed().as_secs_f64();

    // Conditions.
    if !events(Event::Stage(Stage::Encode)) {
        return Ok(None);
    }
    let t = Instant::now();
    // The events: the user's, else those the picture shows.
    let used: Vec<UsedEvent> = match &request.events {
        Some(marked) => marked
            .iter()
            .map(|&time_s| UsedEvent {
                time_s,
                confidence: 1.0,
                from: EventSource::Given,
                region: None,
            })
            .collect(),
        None => {
            let picking = EventPicking {
                sensitivity: request.event_sensitivity,
                ..EventPicking::default()
            };
            pick_events(&track, &picking)
                .iter()
                .map(|e| UsedEvent {
                    time_s: e.time_s,
                    confidence: e.confidence,
                    from: EventSource::Picture,
                    region: Some(e.region),
                })
                .collect()
        }
    };
    let picked: Vec<SpotEvent> = used
        .iter()
        .map(|e| SpotEvent {
            time_s: e.time_s,
            strength: e.confidence,
        })
        .collect();
    let marks: Vec<f64> = picked.iter().map(|e| e.time_s).collect();
    let visual = cache.visual(video, &model.dir, &plan.starts, &marks, || {
        visual_features(model, video, &track, &marks, &plan, device)
    })?;

    // The recordings to start from: the user's reference, else those the text retrieves.
    let mut notes = Vec::new();
    let sources: Vec<SourceRecording> = match &request.reference {
        Some(r) => vec![SourceRecording::given(&r.path)],
        None => {
            // A recording no candidate would vary is not worth decoding.
            let found = retrieve(
                model,
                request.anchoring.library.as_deref(),
                &request.text,
                request.anchoring.retrieve.min(request.gmds.population),
            );
            notes.extend(found.note);
            found.sources
        }
    };
    let strength = request.anchoring.strength;
    let layout = Layout {
        plan: &plan,
        events: picked
            .iter()
            .map(|e| SpotEvent {
                time_s: e.time_s - start,
                ..*e
            })
            .collect(),
        motion_times: track.times.iter().map(|t| t - start).collect(),
        motion: track.energy.clone(),
        seed: request.seed,
        mel_frames: (model.window_seconds() / HOP_SECONDS).round() as usize,
        extractor: MelExtractor::audioldm()?,
    };
    let codebooks = request.reference.as_ref().map_or(1, |r| r.codebooks);
    let mut anchors = Vec::with_capacity(sources.len().max(1));
    let mut kept_sources = Vec::with_capacity(sources.len());
    for source in sources {
        let made = anchor(
            model,
            request,
            cache,
            &visual,
            &layout,
            &source,
            codebooks,
            strength < 1.0,
            device,
        );
        match made {
            Ok(a) => {
                kept_sources.push(source);
                anchors.push(a);
            }
            // The user's own reference must work; a retrieved one is passed over.
            Err(e) if request.reference.is_some() => return Err(e),
            Err(e) => notes.push(format!("{}: passed over ({e})", source.path.display())),
        }
    }
    if anchors.is_empty() {
        if request.reference.is_none() && request.anchoring.retrieve > 0 && notes.is_empty() {
            notes.push("no recording could be used; generating without one".into());
        }
        anchors.push(Anchor {
            source: None,
            cond: model.unet.project(&conditions(
                model,
                &ConditionSet {
                    text: &request.text,
                    negative: &request.negative,
                    visual: &visual,
                    reference: None,
                    scales: request.scales,
                    ablate: request.ablate,
                },
                device,
            )?),
            reference_embedding: None,
            draft: None,
        });
    }
    let sources = kept_sources;
    // Only the drafts are delivered at strength 0: no network runs.
    let drafts_only = strength == 0.0 && anchors.iter().all(|a| a.draft.is_some());
    let variation = (anchors[0].draft.is_some() && !drafts_only).then_some(strength);
    timings.encode_s = t.elapsed().as_secs_f64();

    // Search.
    let w = plan.len();
    // With nothing to choose between (every candidate of a single round is kept), a search
    // would only render drafts that the final render redoes: render the candidates directly.
    let chooses = request.gmds.iterations > 0 || request.gmds.population > request.keep;
    let exact = request.exact() || !chooses || drafts_only;
    let search_settings = SamplerSettings {
        steps: if exact {
            request.sampler.steps
        } else {
            request.search_steps.unwrap_or(request.sampler.steps)
        },
        ..request.sampler
    };
    let evaluations = request.gmds.evaluations();
    let (search_rows, render_rows) = if drafts_only {
        (0, 0)
    } else {
        (
            evaluations * w * steps_run(&search_settings, variation),
            if exact {
                0
            } else {
                request.keep * w * steps_run(&request.sampler, variation)
            },
        )
    };
    let mut progress = Progress {
        started: Instant::now(),
        done: 0,
        total: if drafts_only {
            evaluations
        } else {
            search_rows + render_rows
        },
    };
    if !events(Event::Stage(Stage::Search)) {
        return Ok(None);
    }
    let t = Instant::now();
    let nets = Networks {
        unet: &model.unet,
        vae: &model.vae,
        vocoder: model.vocoding(),
        schedule: &model.schedule,
    };
    let scorers: Vec<Scorer<'_>> = anchors
        .iter()
        .map(|a| Scorer::new(model, &track, start, request, a.reference_embedding.clone()))
        .collect();
    let per = model.latent_shape.iter().product::<usize>();
    let mut objective = SearchObjective {
        nets: &nets,
        anchors: &anchors,
        layout: &layout,
        shape: model.latent_shape,
        settings: search_settings,
        variation,
        drafts_only,
        seed: request.seed,
        max_batch: request.max_batch,
        scorers: &scorers,
        device,
        keep_mels: exact,
        stage: Stage::Search,
        progress: &mut progress,
        events,
    };
    let Some(report) = search(
        &request.gmds,
        w * per,
        anchors.len(),
        request.seed,
        &mut objective,
    )?
    else {
        return Ok(None);
    };
    timings.search_s = t.elapsed().as_secs_f64();

    // Final renders of the best distinct candidates.
    let picks: Vec<_> = report.candidates.iter().take(request.keep).collect();
    let t = Instant::now();
    let finals: Vec<(Vec<VerifierScore>, Rendered)> = if exact {
        picks
            .iter()
            .map(|c| {
                let (scores, mel) = c.detail.clone();
                (scores, mel.expect("exact search keeps its spectrograms"))
            })
            .collect()
    } else {
        if !(objective.events)(Event::Stage(Stage::Render)) {
            return Ok(None);
        }
        objective.settings = request.sampler;
        objective.keep_mels = true;
        objective.stage = Stage::Render;
        let batch: Vec<Proposal<'_>> = picks
            .iter()
            .map(|c| Proposal {
                noise: &c.noise,
                anchor: c.anchor,
            })
            .collect();
        let Some(scored) = objective.score(&batch)? else {
            return Ok(None);
        };
        scored
            .into_iter()
            .map(|(_, (scores, mel))| (scores, mel.expect("renders keep their spectrograms")))
            .collect()
    };
    timings.render_s = t.elapsed().as_secs_f64();

    let events = objective.events;
    if !events(Event::Stage(Stage::Vocode)) {
        return Ok(None);
    }
    let t = Instant::now();
    let mut order: Vec<usize> = (0..finals.len()).collect();
    let combined: Vec<f64> = finals
        .iter()
        .map(|(s, _)| combine(s, &request.verifiers))
        .collect();
    order.sort_by(|&a, &b| combined[b].total_cmp(&combined[a]).then(a.cmp(&b)));
    let mut candidates = Vec::with_capacity(finals.len());
    for (rank, &i) in order.iter().enumerate() {
        let pick = picks[i];
        let (scores, rendered) = &finals[i];
        let audio = match &rendered.wave {
            Some(w) => w.clone(),
            None => vocode(model.vocoding(), &plan, &rendered.windows, device)?,
        };
        let anchor = &anchors[pick.anchor];
        let c = RenderedCandidate {
            rank,
            id: pick.id,
            lineage: pick.lineage.clone(),
            search_score: pick.score,
            score: combined[i],
            scores: scores.clone(),
            mel: rendered.mel.clone(),
            full_band: rendered.full_band.clone(),
            source: anchor.source.clone(),
            placement: anchor.draft.as_ref().map(|d| d.kind),
            joins: measure_joins(&plan, &audio),
            audio,
        };
        if !events(Event::Candidate(Box::new(c.clone()))) {
            return Ok(None);
        }
        candidates.push(c);
    }
    timings.vocode_s = t.elapsed().as_secs_f64();
    timings.total_s = started.elapsed().as_secs_f64();

    let with_source = |anchor: usize| anchors[anchor].source.as_ref().map(|_| anchor);
    Ok(Some(GenerationReport {
        model: model.manifest.name.clone(),
        request: request.clone(),
        range: (start, end),
        fps: v.fps,
        windows: plan.clone(),
        sources,
        events: used,
        notes,
        candidates,
        search: report
            .candidates
            .iter()
            .map(|c| SearchEntry {
                id: c.id,
                lineage: c.lineage.clone(),
                score: c.score,
                scores: c.detail.0.clone(),
                source: with_source(c.anchor),
            })
            .collect(),
        best_by_iteration: report.best_by_iteration,
        network_evaluations: 2 * (search_rows + render_rows),
        search_evaluations: 2 * search_rows,
        timings,
    }))
}

/// What every draft of a generation is laid on: the windows, the events and the motion.
struct Layout<'a> {
    plan: &'a WindowPlan,
    /// Events, seconds from the range's start.
    events: Vec<SpotEvent>,
    /// Motion frame times, seconds from the range's start.
    motion_times: Vec<f64>,
    motion: Vec<f32>,
    seed: u64,
    /// Mel frames per window.
    mel_frames: usize,
    extractor: MelExtractor,
}

impl Layout<'_> {
    /// `sound` (mono at `rate`) laid over the range.
    fn draft(&self, sound: &[f32], rate: u32, kind: SoundKind, seed: u64) -> Result<Vec<f32>> {
        let len = (self.plan.duration_s() * f64::from(rate)).round() as usize;
        let motion = MotionLevel {
            times: &self.motion_times,
            energy: &self.motion,
        };
        draft(sound, rate, kind, &self.events, motion, len, seed)
    }

    /// The model's log-mel of each window of `audio` (16 kHz over the range).
    fn window_mels(&self, audio: &[f32]) -> Result<Vec<MelSpectrogram>> {
        let rate = f64::from(SAMPLE_RATE);
        let len = (self.plan.window_s * rate).round() as usize;
        self.plan
            .starts
            .iter()
            .map(|&s| {
                let from = (((s - self.plan.range.0) * rate).round() as usize).min(audio.len());
                let mut window = audio[from..(from + len).min(audio.len())].to_vec();
                window.resize(len, 0.0);
                self.extractor.tango_fbank(&window, self.mel_frames)
            })
            .collect()
    }
}

/// A recording laid on the picture, ready to be varied.
struct Draft {
    kind: SoundKind,
    /// The recording at the model's rate and at [`FULL_BAND_RATE`].
    sound: Vec<f32>,
    sound_full: Vec<f32>,
    /// The draft over the range at the two rates.
    audio: Vec<f32>,
    full_band: Vec<f32>,
    /// Its scaled VAE latents, window by window.
    latents: Vec<f32>,
    /// Its log-mel as the VAE reconstructs it, stitched over the range.
    reconstructed: MelSpectrogram,
}

/// What candidates of one recording share: the conditions with its reference tokens, its
/// embedding for the reference verifier, and its draft.
struct Anchor {
    source: Option<SourceRecording>,
    cond: ProjectedConditions,
    reference_embedding: Option<Vec<f32>>,
    draft: Option<Draft>,
}

/// Prepare `source` as an anchor: its reference tokens and conditions, its embedding, and,
/// when `drafting`, its draft and the draft's latents.
#[allow(clippy::too_many_arguments)]
fn anchor(
    model: &Model,
    request: &GenerationRequest,
    cache: &mut FeatureCache,
    visual: &VisualFeatures,
    layout: &Layout<'_>,
    source: &SourceRecording,
    codebooks: usize,
    drafting: bool,
    device: &Device,
) -> Result<Anchor> {
    let path = &source.path;
    let audio = load_reference(path)?;
    if audio.samples.iter().all(|v| *v == 0.0) {
        return Err(Error::media(path, "the sound is silent or empty"));
    }
    let tokens = cache.reference(path, &model.dir, codebooks, || {
        reference_tokens(model, &audio, codebooks, device)
            .map_err(|e| Error::media(path, e.to_string()))
    })?;
    let cond = model.unet.project(&conditions(
        model,
        &ConditionSet {
            text: &request.text,
            negative: &request.negative,
            visual,
            reference: Some(tokens.as_ref()),
            scales: request.scales,
            ablate: request.ablate,
        },
        device,
    )?);
    let reference_embedding = match &model.aisfx {
        Ok(aisfx) if request.verifiers.reference > 0.0 => {
            let e = cache.sound_embedding(path, || {
                aisfx
                    .clip_embeddings_audio(&[&audio])
                    .map_err(|e| Error::media(path, e.to_string()))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::media(path, "no embedding"))
            })?;
            Some(e.as_ref().clone())
        }
        _ => Some(Vec::new()),
    };
    let draft = if drafting {
        let kind = if request.anchoring.as_laid && request.reference.is_some() {
            SoundKind::AsLaid
        } else {
            sound_kind(&audio.samples, SAMPLE_RATE)
        };
        Some(make_draft(
            model,
            layout,
            path,
            audio.samples,
            kind,
            device,
        )?)
    } else {
        None
    };
    Ok(Anchor {
        source: Some(source.clone()),
        cond,
        reference_embedding,
        draft,
    })
}

/// The draft of the recording at `path` (`sound`: decoded at the model's rate), laid as
/// `kind`, and its latents.
fn make_draft(
    model: &Model,
    layout: &Layout<'_>,
    path: &std::path::Path,
    sound: Vec<f32>,
    kind: SoundKind,
    device: &Device,
) -> Result<Draft> {
    let sound_full = decode_audio(
        path,
        &DecodeOptions {
            max_duration_s: 600.0,
            ..DecodeOptions::to(FULL_BAND_RATE, 1)
        },
    )?
    .samples;
    let audio = layout.draft(&sound, SAMPLE_RATE, kind, layout.seed)?;
    let full_band = layout.draft(&sound_full, FULL_BAND_RATE, kind, layout.seed)?;
    let windows = layout.window_mels(&audio)?;
    let (frames, bands) = (layout.mel_frames, windows[0].n_mels);
    let flat: Vec<f32> = windows
        .iter()
        .flat_map(|m| m.data.iter().copied())
        .collect();
    let image = Tensor::<4>::from_data(
        TensorData::new(flat, [windows.len(), 1, frames, bands]),
        device,
    );
    let vae = &model.vae;
    let (mean, _) = vae.encode(image);
    let latents = mean
        .clone()
        .mul_scalar(vae.scaling_factor())
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read the draft's latents: {e:?}")))?;
    let reconstructed = mels(vae, mean.mul_scalar(vae.scaling_factor()), HOP_SECONDS)?;
    let refs: Vec<&MelSpectrogram> = reconstructed.iter().collect();
    Ok(Draft {
        kind,
        sound,
        sound_full,
        audio,
        full_band,
        latents,
        reconstructed: layout.plan.stitch_mels(&refs)?,
    })
}

/// Vocode each window's spectrogram (all windows in one batch) and stitch the waveforms.
fn vocode(
    vocoder: Vocoding<'_>,
    plan: &WindowPlan,
    windows: &[MelSpectrogram],
    device: &Device,
) -> Result<Vec<f32>> {
    let refs: Vec<&MelSpectrogram> = windows.iter().collect();
    let waves = waveforms(vocoder, &refs, device)?;
    let views: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
    plan.stitch_audio(&views, SAMPLE_RATE)
}

/// Spectrograms of a rendered candidate: stitched over the range, and per window.
#[derive(Debug, Clone)]
pub struct Rendered {
    mel: MelSpectrogram,
    windows: Vec<MelSpectrogram>,
    /// The stitched waveform, when a verifier needed it or a draft voiced it.
    wave: Option<Vec<f32>>,
    /// The full-band waveform of a candidate that varies a recording.
    full_band: Option<Vec<f32>>,
}

/// Progress bookkeeping in row-steps.
struct Progress {
    started: Instant,
    done: usize,
    total: usize,
}

impl Progress {
    fn advance(&mut self, rows: usize, stage: Stage) -> Event {
        self.done += rows;
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta_s = (self.done > 0 && elapsed > 0.0)
            .then(|| elapsed / self.done as f64 * self.total.saturating_sub(self.done) as f64);
        Event::Progress {
            stage,
            done: self.done,
            total: self.total,
            eta_s,
        }
    }
}

/// GMDS's objective: denoise (from noise, or from an anchor's draft), decode, voice, stitch
/// and score; keeps the spectrograms when asked.
struct SearchObjective<'a, 'e> {
    nets: &'a Networks<'a>,
    anchors: &'a [Anchor],
    layout: &'a Layout<'a>,
    shape: [usize; 3],
    settings: SamplerSettings,
    /// Strength of a variation of the anchors' drafts; `None` from noise.
    variation: Option<f64>,
    /// The drafts are the candidates (strength 0).
    drafts_only: bool,
    seed: u64,
    max_batch: usize,
    scorers: &'a [Scorer<'a>],
    device: &'a Device,
    keep_mels: bool,
    stage: Stage,
    progress: &'a mut Progress,
    events: &'a mut EventSink<'e>,
}

/// A candidate's per-window spectrograms and, when made, its waveforms.
struct Sounded {
    windows: Vec<MelSpectrogram>,
    wave: Option<Vec<f32>>,
    full_band: Option<Vec<f32>>,
}

impl SearchObjective<'_, '_> {
    /// Candidates of one anchor, from their noises. Returns `None` when cancelled.
    fn sound(&mut self, anchor: &Anchor, noises: &[&[f32]]) -> Result<Option<Vec<Sounded>>> {
        let w = self.layout.plan.len();
        if self.drafts_only {
            let d = anchor.draft.as_ref().expect("strength 0 has drafts");
            let mut out = Vec::with_capacity(noises.len());
            for noise in noises {
                // The noise names the placement: each candidate varies gain and pitch anew.
                let seed = self.seed ^ fingerprint(noise);
                let wave = self.layout.draft(&d.sound, SAMPLE_RATE, d.kind, seed)?;
                let full = self
                    .layout
                    .draft(&d.sound_full, FULL_BAND_RATE, d.kind, seed)?;
                out.push(Sounded {
                    windows: self.layout.window_mels(&wave)?,
                    wave: Some(wave),
                    full_band: Some(full),
                });
                if !(self.events)(self.progress.advance(1, self.stage)) {
                    return Ok(None);
                }
            }
            return Ok(Some(out));
        }
        let per = self.shape.iter().product::<usize>();
        let rows: Vec<&[f32]> = noises.iter().flat_map(|x| x.chunks_exact(per)).collect();
        let job = LatentJob {
            cond: &anchor.cond,
            shape: self.shape,
            settings: self.settings,
            seed: self.seed,
            max_batch: self.max_batch,
            variation: match (self.variation, &anchor.draft) {
                (Some(strength), Some(d)) => Some(Variation {
                    draft: &d.latents,
                    strength,
                }),
                _ => None,
            },
        };
        let (progress, events, stage) = (&mut *self.progress, &mut *self.events, self.stage);
        let Some(z) = latents(self.nets, &job, &rows, self.device, &mut |n| {
            events(progress.advance(n, stage))
        })?
        else {
            return Ok(None);
        };
        let rows_per_decode = if self.max_batch == 0 {
            rows.len()
        } else {
            self.max_batch * w
        };
        let mut decoded = Vec::with_capacity(rows.len());
        for part in z.split(rows_per_decode, 0) {
            decoded.extend(mels(self.nets.vae, part, HOP_SECONDS)?);
        }
        let windows: Vec<Vec<MelSpectrogram>> =
            decoded.chunks_exact(w).map(<[_]>::to_vec).collect();
        if let Some(d) = &anchor.draft {
            // Voiced through the draft: cheap enough for every candidate of a search.
            let config = GriffinLimConfig {
                n_iter: if self.keep_mels {
                    DRAFT_PHASE_ITERATIONS
                } else {
                    0
                },
                ..GriffinLimConfig::LIBROSA
            };
            return windows
                .into_iter()
                .map(|parts| {
                    let refs: Vec<&MelSpectrogram> = parts.iter().collect();
                    let mel = self.layout.plan.stitch_mels(&refs)?;
                    let wave = voice_over_draft(
                        &self.layout.extractor,
                        &d.audio,
                        &d.reconstructed,
                        &mel,
                        &config,
                    )?;
                    let full_band = if self.keep_mels {
                        let up = resample(
                            &AudioBuffer::new(SAMPLE_RATE, 1, wave.clone()),
                            FULL_BAND_RATE,
                            1,
                        )?;
                        Some(add_high_band(
                            &up.samples,
                            &d.full_band,
                            FULL_BAND_RATE,
                            &wave,
                            &d.audio,
                        )?)
                    } else {
                        None
                    };
                    Ok(Sounded {
                        windows: parts,
                        wave: Some(wave),
                        full_band,
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some);
        }
        // Vocode and stitch every candidate together when a verifier reads the sound.
        let waves = if self.scorers[0].needs_sound() {
            let refs: Vec<&MelSpectrogram> = decoded.iter().collect();
            // A final render's waveform is the candidate's audio; a search's only feeds the
            // verifiers.
            let vocoder = if self.keep_mels {
                self.nets.vocoder
            } else {
                self.nets.vocoder.draft()
            };
            let waves = waveforms(vocoder, &refs, self.device)?;
            let mut stitched = Vec::with_capacity(noises.len());
            for parts in waves.chunks_exact(w) {
                let views: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
                stitched.push(Some(self.layout.plan.stitch_audio(&views, SAMPLE_RATE)?));
            }
            stitched
        } else {
            vec![None; noises.len()]
        };
        Ok(Some(
            windows
                .into_iter()
                .zip(waves)
                .map(|(windows, wave)| Sounded {
                    windows,
                    wave,
                    full_band: None,
                })
                .collect(),
        ))
    }
}

impl Objective for SearchObjective<'_, '_> {
    type Detail = (Vec<VerifierScore>, Option<Rendered>);

    fn score(&mut self, batch: &[Proposal<'_>]) -> Result<Scored<Self::Detail>> {
        let mut out: Vec<Option<(f64, Self::Detail)>> = vec![None; batch.len()];
        let anchors = self.anchors;
        for (a, anchor) in anchors.iter().enumerate() {
            let members: Vec<usize> = (0..batch.len()).filter(|&i| batch[i].anchor == a).collect();
            if members.is_empty() {
                continue;
            }
            let noises: Vec<&[f32]> = members.iter().map(|&i| batch[i].noise).collect();
            let Some(sounded) = self.sound(anchor, &noises)? else {
                return Ok(None);
            };
            let scorer = &self.scorers[a];
            let waves: Vec<&[f32]> = sounded.iter().filter_map(|s| s.wave.as_deref()).collect();
            let sounds = if waves.len() < sounded.len() || !scorer.needs_sound() {
                Err("the candidate was not vocoded".to_string())
            } else {
                scorer.sounds(&waves)
            };
            for (k, (s, &i)) in sounded.into_iter().zip(&members).enumerate() {
                let refs: Vec<&MelSpectrogram> = s.windows.iter().collect();
                let mel = self.layout.plan.stitch_mels(&refs)?;
                let scores = scorer.score(&CandidateView {
                    mel: &mel,
                    sound: match &sounds {
                        Ok(e) => Ok(&e[k]),
                        Err(why) => Err(why),
                    },
                });
                let combined = combine(&scores, &scorer.weights);
                let rendered = self.keep_mels.then_some(Rendered {
                    mel,
                    windows: s.windows,
                    wave: s.wave,
                    full_band: s.full_band,
                });
                out[i] = Some((combined, (scores, rendered)));
            }
        }
        Ok(Some(
            out.into_iter()
                .map(|o| o.expect("every proposal has an anchor"))
                .collect(),
        ))
    }
}
