//! One generation, start to end: analyse the picture, encode the conditions, search the
//! initial noise with GMDS (few sampling steps, all proposals of an iteration in one batch,
//! scored from the VAE's spectrogram so the vocoder is not needed), render the best
//! candidates at full quality, vocode them and stitch the windows.

use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use super::cache::FeatureCache;
use super::conditioning::{
    ConditionSet, conditions, load_reference, reference_tokens, visual_features,
};
use super::model::{FrameEncoder, HOP_SECONDS, Model, SAMPLE_RATE};
use super::render::{LatentJob, Networks, SamplerSettings, Vocoding, latents, mels, waveforms};
use super::request::GenerationRequest;
use super::scoring::Scorer;
use super::windows::WindowPlan;
use crate::dsp::MelSpectrogram;
use crate::error::{Error, Result};
use crate::features::events::{EventPicking, pick_events};
use crate::features::track::MotionTrack;
use crate::gmds::{Lineage, Objective, Scored, search};
use crate::media::probe;
use crate::models::unet::ProjectedConditions;
use crate::verify::{CandidateView, VerifierScore, combine};

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
    let marks: Vec<f64> = match &request.events {
        Some(marked) => marked.clone(),
        None => pick_events(&track, &EventPicking::default())
            .iter()
            .map(|e| e.time_s)
            .collect(),
    };
    let visual = cache.visual(video, &model.dir, &plan.starts, &marks, || {
        visual_features(model, video, &track, &marks, &plan, device)
    })?;
    let reference = match &request.reference {
        None => None,
        Some(r) => Some(cache.reference(&r.path, &model.dir, r.codebooks, || {
            let audio = load_reference(&r.path)?;
            reference_tokens(model, &audio, r.codebooks, device)
                .map_err(|e| Error::media(&r.path, e.to_string()))
        })?),
    };
    // Projected to every transformer's keys and values once for all steps and candidates.
    let cond = conditions(
        model,
        &ConditionSet {
            text: &request.text,
            negative: &request.negative,
            visual: &visual,
            reference: reference.as_deref(),
            scales: request.scales,
            ablate: request.ablate,
        },
        device,
    )?;
    let cond = model.unet.project(&cond);
    timings.encode_s = t.elapsed().as_secs_f64();

    // Search.
    let w = plan.len();
    // With nothing to choose between (every candidate of a single round is kept), a search
    // would only render drafts that the final render redoes: render the candidates directly.
    let chooses = request.gmds.iterations > 0 || request.gmds.population > request.keep;
    let exact = request.exact() || !chooses;
    let search_settings = SamplerSettings {
        steps: if exact {
            request.sampler.steps
        } else {
            request.search_steps.unwrap_or(request.sampler.steps)
        },
        ..request.sampler
    };
    let evaluations = request.gmds.evaluations();
    let render_rows = if exact {
        0
    } else {
        request.keep * w * request.sampler.steps
    };
    let total = evaluations * w * search_settings.steps + render_rows;
    let mut progress = Progress {
        started: Instant::now(),
        done: 0,
        total,
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
    let reference_embedding = match (&request.reference, &model.aisfx) {
        (Some(r), Ok(aisfx)) if request.verifiers.reference > 0.0 => {
            let e = cache.sound_embedding(&r.path, || {
                let audio = load_reference(&r.path)?;
                aisfx
                    .clip_embeddings_audio(&[&audio])
                    .map_err(|e| Error::media(&r.path, e.to_string()))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::media(&r.path, "no embedding"))
            })?;
            Some(e.as_ref().clone())
        }
        (Some(_), _) => Some(Vec::new()),
        (None, _) => None,
    };
    let scorer = Scorer::new(model, &track, start, request, reference_embedding);
    let per = model.latent_shape.iter().product::<usize>();
    let mut objective = SearchObjective {
        nets: &nets,
        cond: &cond,
        shape: model.latent_shape,
        settings: search_settings,
        seed: request.seed,
        max_batch: request.max_batch,
        plan: &plan,
        scorer: &scorer,
        device,
        keep_mels: exact,
        stage: Stage::Search,
        progress: &mut progress,
        events,
    };
    let Some(report) = search(&request.gmds, w * per, request.seed, &mut objective)? else {
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
        let noises: Vec<&[f32]> = picks.iter().map(|c| c.noise.as_slice()).collect();
        let Some(scored) = objective.score(&noises)? else {
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
        let c = RenderedCandidate {
            rank,
            id: pick.id,
            lineage: pick.lineage.clone(),
            search_score: pick.score,
            score: combined[i],
            scores: scores.clone(),
            audio,
            mel: rendered.mel.clone(),
        };
        if !events(Event::Candidate(Box::new(c.clone()))) {
            return Ok(None);
        }
        candidates.push(c);
    }
    timings.vocode_s = t.elapsed().as_secs_f64();
    timings.total_s = started.elapsed().as_secs_f64();

    let search_rows = evaluations * w * search_settings.steps;
    Ok(Some(GenerationReport {
        model: model.manifest.name.clone(),
        request: request.clone(),
        range: (start, end),
        fps: v.fps,
        windows: plan,
        candidates,
        search: report
            .candidates
            .iter()
            .map(|c| SearchEntry {
                id: c.id,
                lineage: c.lineage.clone(),
                score: c.score,
                scores: c.detail.0.clone(),
            })
            .collect(),
        best_by_iteration: report.best_by_iteration,
        network_evaluations: 2 * (search_rows + render_rows),
        search_evaluations: 2 * search_rows,
        timings,
    }))
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
    /// The stitched waveform, when a verifier needed it.
    wave: Option<Vec<f32>>,
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

/// GMDS's objective: denoise, decode, stitch and score; keeps the spectrograms when asked.
struct SearchObjective<'a, 'e> {
    nets: &'a Networks<'a>,
    cond: &'a ProjectedConditions,
    shape: [usize; 3],
    settings: SamplerSettings,
    seed: u64,
    max_batch: usize,
    plan: &'a WindowPlan,
    scorer: &'a Scorer<'a>,
    device: &'a Device,
    keep_mels: bool,
    stage: Stage,
    progress: &'a mut Progress,
    events: &'a mut EventSink<'e>,
}

impl Objective for SearchObjective<'_, '_> {
    type Detail = (Vec<VerifierScore>, Option<Rendered>);

    fn score(&mut self, noises: &[&[f32]]) -> Result<Scored<Self::Detail>> {
        let w = self.plan.len();
        let per = self.shape.iter().product::<usize>();
        let rows: Vec<&[f32]> = noises.iter().flat_map(|x| x.chunks_exact(per)).collect();
        let job = LatentJob {
            cond: self.cond,
            shape: self.shape,
            settings: self.settings,
            seed: self.seed,
            max_batch: self.max_batch,
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
        // Vocode and embed every candidate together when a verifier reads the sound.
        let waves = if self.scorer.needs_sound() {
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
                stitched.push(self.plan.stitch_audio(&views, SAMPLE_RATE)?);
            }
            stitched
        } else {
            Vec::new()
        };
        let sounds = if waves.is_empty() {
            Err("the candidate was not vocoded".to_string())
        } else {
            let refs: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
            self.scorer.sounds(&refs)
        };
        let mut waves = waves.into_iter();
        let mut out = Vec::with_capacity(noises.len());
        for (i, parts) in decoded.chunks_exact(w).enumerate() {
            let refs: Vec<&MelSpectrogram> = parts.iter().collect();
            let mel = self.plan.stitch_mels(&refs)?;
            let scores = self.scorer.score(&CandidateView {
                mel: &mel,
                sound: match &sounds {
                    Ok(e) => Ok(&e[i]),
                    Err(why) => Err(why),
                },
            });
            let combined = combine(&scores, &self.scorer.weights);
            let wave = waves.next();
            let rendered = self.keep_mels.then(|| Rendered {
                mel,
                windows: parts.to_vec(),
                wave,
            });
            out.push((combined, (scores, rendered)));
        }
        Ok(Some(out))
    }
}
