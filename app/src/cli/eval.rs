//! `avsync eval CLIPS --out DIR [...]`: generate for clips whose real sound is known and
//! measure the result: onset ACC/AP against the real sound, Fréchet distance of aisfx
//! embeddings between the generated and the real set, and the mean sync score, for the full
//! model and for ablations (frame features zeroed, video features zeroed, no search), for
//! variations of real recordings at a strength (`s0` ... `s100`), for generation from noise
//! without a recording (`noise`), and for the model-free baseline `spot` (the reference sound,
//! or the best recording the description retrieves, placed at every event picked from the
//! picture). Besides, the aisfx distance of each clip's output to its real recording and
//! between the candidates of a clip. Writes `eval.json` and `eval.md`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use avsync_engine::AudioBuffer;
use avsync_engine::encoders::aisfx::Aisfx;
use avsync_engine::eval::distance::{cosine_distance, mean_pairwise_distance};
use avsync_engine::eval::fd::frechet_distance_of_sets;
use avsync_engine::eval::onset::onset_scores;
use avsync_engine::eval::prompt_rank::PromptJudge;
use avsync_engine::eval::summary::{ClipMetrics, VariantSummary, markdown_table};
use avsync_engine::features::events::{EventPicking, pick_events};
use avsync_engine::features::track::MotionTrack;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::{DecodeOptions, decode_audio};
use avsync_engine::pipeline::model::{SAMPLE_RATE, assets_dir};
use avsync_engine::pipeline::retrieval::retrieve;
use avsync_engine::pipeline::spot::{SpotEvent, SpotVariation, spot};
use avsync_engine::pipeline::{GenerationRequest, Job};
use clap::Args;

use super::generate::SettingsArgs;
use avsync_engine::pipeline::clips::{Clip, read_clips};

/// Variants `eval` knows (and `sN`: a variation at strength N/100).
const VARIANTS: [&str; 6] = ["full", "no-frames", "no-video", "no-gmds", "spot", "noise"];

/// The strength of a variant named `sN` (N in 0..=100).
fn strength_of(variant: &str) -> Option<f64> {
    let n: u32 = variant.strip_prefix('s')?.parse().ok()?;
    (n <= 100).then(|| f64::from(n) / 100.0)
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A folder of videos with their real sound as their audio track, or a CSV
    /// (`video,text,audio,ref_audio,start,end`; `audio` = the real sound when it is not the
    /// video's own track).
    clips: PathBuf,
    /// Output folder for eval.json and eval.md.
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated variants: full, no-frames, no-video, no-gmds, noise (from noise, no
    /// recording), sN (a variation of the retrieved or given recording at strength N/100,
    /// e.g. s0, s25, s100), spot (no model: the clip's reference sound, --ref-audio or the
    /// best retrieved recording, at every event picked from the picture).
    #[arg(long, default_value = "full,no-frames,no-gmds")]
    variants: String,
    /// Model whose verifier heads judge how well each generated clip matches its
    /// description among all the clips' descriptions (the prompt rank); the evaluated model
    /// when absent. Keep it fixed when comparing models.
    #[arg(long)]
    judge: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// The request of `variant`.
fn apply(variant: &str, mut r: GenerationRequest) -> Result<GenerationRequest> {
    match variant {
        "full" => {}
        "no-frames" => r.ablate.frames = true,
        "no-video" => {
            r.ablate.frames = true;
            r.ablate.video = true;
        }
        "spot" => {}
        "noise" => {
            r.anchoring.retrieve = 0;
            r.anchoring.strength = 1.0;
        }
        v if strength_of(v).is_some() => {
            r.anchoring.strength = strength_of(v).expect("checked");
        }
        "no-gmds" => {
            r.gmds = GmdsSettings {
                population: 1,
                iterations: 0,
                ..r.gmds
            };
            r.search_steps = None;
        }
        other => bail!(
            "unknown variant `{other}` ({}, or sN for a strength of N/100)",
            VARIANTS.join(", ")
        ),
    }
    // The best candidate is measured; the others tell how much candidates differ.
    r.keep = r.keep.clamp(1, r.gmds.evaluations());
    Ok(r)
}

pub fn run(a: &EvalArgs) -> Result<()> {
    let clips = read_clips(&a.clips)?;
    if clips.is_empty() {
        bail!("{}: no clips found", a.clips.display());
    }
    let variants: Vec<&str> = a.variants.split(',').map(str::trim).collect();
    for v in &variants {
        apply(v, GenerationRequest::new("x"))?;
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let generator = a.settings.generator()?;
    let aisfx = avsync_engine::pipeline::model::load_aisfx(&burn::tensor::Device::flex());
    let judge_dir = match &a.judge {
        Some(d) => d.clone(),
        None => a.settings.model_dir()?,
    };
    let models = assets_dir().join("models");
    let judge = PromptJudge::load(
        &judge_dir,
        &models.join("minilm"),
        &models.join("aisfx"),
        &burn::tensor::Device::flex(),
    );
    if let Err(why) = &judge {
        eprintln!("note: no prompt rank: {why}");
    }
    let mut descriptions: Vec<String> = Vec::new();
    let truth: Vec<usize> = clips
        .iter()
        .map(|c| {
            let text = c.text.clone().unwrap_or_else(|| a.settings.text.clone());
            descriptions
                .iter()
                .position(|d| *d == text)
                .unwrap_or_else(|| {
                    descriptions.push(text);
                    descriptions.len() - 1
                })
        })
        .collect();

    // The real sound of every clip, over the same range the model generates.
    let mut truths = Vec::with_capacity(clips.len());
    for clip in &clips {
        let path = clip.audio.as_ref().unwrap_or(&clip.video);
        let audio = decode_audio(path, &DecodeOptions::to(SAMPLE_RATE, 1))
            .with_context(|| format!("{}: the real sound of the clip", path.display()))?;
        let start = (clip.start.unwrap_or(0.0) * f64::from(SAMPLE_RATE)) as usize;
        let end = clip.end.map_or(audio.samples.len(), |e| {
            (e * f64::from(SAMPLE_RATE)) as usize
        });
        truths.push(
            audio.samples[start.min(audio.samples.len())..end.min(audio.samples.len())].to_vec(),
        );
    }

    let embed = |set: &[&[f32]]| -> Result<Option<Vec<Vec<f32>>>> {
        let Ok(net) = &aisfx else { return Ok(None) };
        let buffers: Vec<AudioBuffer> = set
            .iter()
            .map(|s| AudioBuffer::new(SAMPLE_RATE, 1, s.to_vec()))
            .collect();
        let refs: Vec<&AudioBuffer> = buffers.iter().collect();
        Ok(Some(net.clip_embeddings_audio(&refs)?))
    };
    let truth_embeddings = {
        let views: Vec<&[f32]> = truths.iter().map(Vec::as_slice).collect();
        embed(&views)?
    };
    // Distance of the best candidate to the real sound, and between the candidates.
    let distances = |i: usize, candidates: &[&[f32]]| -> Result<(Option<f64>, Option<f64>)> {
        let Some(e) = embed(candidates)? else {
            return Ok((None, None));
        };
        let to_truth = truth_embeddings
            .as_ref()
            .map(|t| cosine_distance(&e[0], &t[i]));
        Ok((to_truth, mean_pairwise_distance(&e)))
    };

    let mut summaries = Vec::with_capacity(variants.len());
    for variant in &variants {
        let mut per_clip = Vec::with_capacity(clips.len());
        let mut generated = Vec::with_capacity(clips.len());
        for (i, (clip, truth)) in clips.iter().zip(&truths).enumerate() {
            eprintln!(
                "[{variant} {}/{}] {}",
                i + 1,
                clips.len(),
                clip.video.display()
            );
            let text = clip.text.as_deref().unwrap_or(&a.settings.text);
            let reference = clip
                .reference
                .as_deref()
                .or(a.settings.ref_audio.as_deref());
            if *variant == "spot" {
                let started = std::time::Instant::now();
                let retrieved;
                let reference = match reference {
                    Some(r) => r,
                    None => {
                        retrieved = retrieve_one(&generator, &a.settings, text)?;
                        retrieved.as_path()
                    }
                };
                // Two placements, for the spread between candidates.
                let takes = [0, 1]
                    .map(|seed| {
                        spot_clip(
                            clip,
                            reference,
                            truth.len(),
                            seed,
                            a.settings.event_sensitivity,
                        )
                    })
                    .into_iter()
                    .collect::<Result<Vec<_>>>()?;
                let views: Vec<&[f32]> = takes.iter().map(Vec::as_slice).collect();
                let (distance, diversity) = distances(i, &views)?;
                per_clip.push(ClipMetrics {
                    video: clip.video.to_string_lossy().into_owned(),
                    onsets: onset_scores(truth, &takes[0], SAMPLE_RATE)?,
                    sync: None,
                    text: None,
                    score: None,
                    distance,
                    diversity,
                    seconds: started.elapsed().as_secs_f64(),
                    sources: vec![reference.display().to_string()],
                });
                generated.push(takes.into_iter().next().expect("two takes"));
                continue;
            }
            let request = apply(
                variant,
                a.settings
                    .request_with(&clip.video, clip.start, clip.end, text, reference),
            )?;
            request.validate()?;
            let report = Job::spawn(generator.clone(), request)
                .wait(|_| {})?
                .ok_or_else(|| anyhow::anyhow!("generation cancelled"))?;
            let views: Vec<&[f32]> = report
                .candidates
                .iter()
                .map(|c| c.audio.as_slice())
                .collect();
            let (distance, diversity) = distances(i, &views)?;
            let sources = report
                .candidates
                .iter()
                .filter_map(|c| c.source.as_ref().map(|s| s.path.display().to_string()))
                .collect();
            let best = report
                .candidates
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("no candidate"))?;
            let n = truth.len().min(best.audio.len());
            per_clip.push(ClipMetrics {
                video: clip.video.to_string_lossy().into_owned(),
                onsets: onset_scores(&truth[..n], &best.audio[..n], SAMPLE_RATE)?,
                sync: best
                    .scores
                    .iter()
                    .find(|s| s.name == "sync")
                    .and_then(|s| s.score),
                text: best
                    .scores
                    .iter()
                    .find(|s| s.name == "text")
                    .and_then(|s| s.score),
                score: Some(best.score),
                distance,
                diversity,
                seconds: report.timings.total_s,
                sources,
            });
            generated.push(best.audio);
        }
        let fd = match &aisfx {
            Ok(net) => fd_aisfx(net, &generated, &truths)?,
            Err(why) => {
                eprintln!("note: no FD: {why}");
                None
            }
        };
        let mut summary = VariantSummary::new(variant, per_clip, fd);
        if let Ok(judge) = &judge
            && descriptions.len() > 1
        {
            summary.prompt = Some(judge.rank(&descriptions, &generated, SAMPLE_RATE, &truth)?);
        }
        summaries.push(summary);
    }

    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "clips": clips.len(),
        "settings": apply("full", a.settings.request(&clips[0].video, None, None))?,
        "variants": summaries,
    }))?;
    avsync_engine::media::output::write_atomic(&a.out.join("eval.json"), |w| w.write_all(&json))?;
    let table = markdown_table(&summaries);
    avsync_engine::media::output::write_atomic(&a.out.join("eval.md"), |w| {
        w.write_all(table.as_bytes())
    })?;
    print!("{table}");
    Ok(())
}

/// The recording retrieval finds first for `text`, for the `spot` baseline of a clip
/// without a reference.
fn retrieve_one(
    generator: &std::sync::Arc<std::sync::Mutex<avsync_engine::pipeline::Generator>>,
    settings: &SettingsArgs,
    text: &str,
) -> Result<PathBuf> {
    let g = generator
        .lock()
        .map_err(|_| anyhow::anyhow!("the generator failed earlier"))?;
    let request = settings.request(Path::new(""), None, None);
    let found = retrieve(&g.model, request.anchoring.library.as_deref(), text, 1);
    found
        .sources
        .into_iter()
        .next()
        .map(|s| s.path)
        .with_context(|| {
            format!(
                "the spot variant needs a reference sound for \"{text}\" (the CSV's ref_audio, \
             --ref-audio, or a library that retrieves one): {}",
                found.note.unwrap_or_default()
            )
        })
}

/// The `spot` baseline of one clip: its reference sound at every event of its picture
/// (picked at `sensitivity`), `len` samples from the clip's start, its placements varied by
/// `seed`.
fn spot_clip(
    clip: &Clip,
    reference: &Path,
    len: usize,
    seed: u64,
    sensitivity: f32,
) -> Result<Vec<f32>> {
    let sound = decode_audio(reference, &DecodeOptions::to(SAMPLE_RATE, 1))
        .with_context(|| format!("{}: the sound to spot", reference.display()))?;
    let start = clip.start.unwrap_or(0.0);
    let end = start + len as f64 / f64::from(SAMPLE_RATE);
    let track = MotionTrack::analyse(&clip.video, (start, end), 4)?;
    let picking = EventPicking {
        sensitivity,
        ..EventPicking::default()
    };
    let events: Vec<SpotEvent> = pick_events(&track, &picking)
        .into_iter()
        .map(|e| SpotEvent {
            time_s: e.time_s - start,
            strength: e.strength,
        })
        .collect();
    Ok(spot(
        &sound.samples,
        &events,
        len,
        SAMPLE_RATE,
        &SpotVariation::default(),
        seed,
    ))
}

/// Fréchet distance between aisfx embeddings of the generated and the real sounds (`None`
/// with fewer than two clips, where a covariance does not exist).
fn fd_aisfx(net: &Aisfx, generated: &[Vec<f32>], truths: &[Vec<f32>]) -> Result<Option<f64>> {
    if generated.len() < 2 {
        return Ok(None);
    }
    let embed = |set: &[Vec<f32>]| -> Result<Vec<Vec<f32>>> {
        let buffers: Vec<AudioBuffer> = set
            .iter()
            .map(|s| AudioBuffer::new(SAMPLE_RATE, 1, s.clone()))
            .collect();
        let refs: Vec<&AudioBuffer> = buffers.iter().collect();
        Ok(net.clip_embeddings_audio(&refs)?)
    };
    Ok(Some(frechet_distance_of_sets(
        &embed(generated)?,
        &embed(truths)?,
    )?))
}
