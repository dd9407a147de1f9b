//! `avsync eval CLIPS --out DIR [...]`: generate for clips whose real sound is known and
//! measure the result: onset ACC/AP against the real sound, Fréchet distance of aisfx
//! embeddings between the generated and the real set, and the mean sync score, for the full
//! model and for ablations (frame features zeroed, video features zeroed, no search), and for
//! the model-free baseline `spot` (the reference sound placed at every event picked from the
//! picture). Writes `eval.json` and `eval.md`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use avsync_engine::AudioBuffer;
use avsync_engine::encoders::aisfx::Aisfx;
use avsync_engine::eval::fd::frechet_distance_of_sets;
use avsync_engine::eval::onset::onset_scores;
use avsync_engine::eval::prompt_rank::PromptJudge;
use avsync_engine::eval::summary::{ClipMetrics, VariantSummary, markdown_table};
use avsync_engine::features::events::{EventPicking, pick_events};
use avsync_engine::features::track::MotionTrack;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::{DecodeOptions, decode_audio};
use avsync_engine::pipeline::model::{SAMPLE_RATE, assets_dir};
use avsync_engine::pipeline::spot::{SpotEvent, SpotVariation, spot};
use avsync_engine::pipeline::{GenerationRequest, Job};
use clap::Args;

use super::generate::SettingsArgs;
use avsync_engine::pipeline::clips::{Clip, read_clips};

/// Variants `eval` knows.
const VARIANTS: [&str; 5] = ["full", "no-frames", "no-video", "no-gmds", "spot"];

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A folder of videos with their real sound as their audio track, or a CSV
    /// (`video,text,audio,ref_audio,start,end`; `audio` = the real sound when it is not the
    /// video's own track).
    clips: PathBuf,
    /// Output folder for eval.json and eval.md.
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated variants: full, no-frames, no-video, no-gmds, spot (no model: the
    /// clip's reference sound, or --ref-audio, at every event picked from the picture).
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
        "no-gmds" => {
            r.gmds = GmdsSettings {
                population: 1,
                iterations: 0,
                ..r.gmds
            };
            r.search_steps = None;
        }
        other => bail!("unknown variant `{other}` ({})", VARIANTS.join(", ")),
    }
    r.keep = 1;
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
                let audio = spot_clip(clip, reference, truth.len())?;
                per_clip.push(ClipMetrics {
                    video: clip.video.to_string_lossy().into_owned(),
                    onsets: onset_scores(truth, &audio, SAMPLE_RATE)?,
                    sync: None,
                    text: None,
                    score: None,
                    seconds: started.elapsed().as_secs_f64(),
                });
                generated.push(audio);
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
                seconds: report.timings.total_s,
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

/// The `spot` baseline of one clip: its reference sound at every event of its picture,
/// `len` samples from the clip's start.
fn spot_clip(clip: &Clip, reference: Option<&Path>, len: usize) -> Result<Vec<f32>> {
    let reference = reference.with_context(|| {
        format!(
            "{}: the spot variant needs a reference sound (the CSV's ref_audio or --ref-audio)",
            clip.video.display()
        )
    })?;
    let sound = decode_audio(reference, &DecodeOptions::to(SAMPLE_RATE, 1))
        .with_context(|| format!("{}: the sound to spot", reference.display()))?;
    let start = clip.start.unwrap_or(0.0);
    let end = start + len as f64 / f64::from(SAMPLE_RATE);
    let track = MotionTrack::analyse(&clip.video, (start, end), 4)?;
    let events: Vec<SpotEvent> = pick_events(&track, &EventPicking::default())
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
        0,
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
