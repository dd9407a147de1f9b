//! `avsync batch DIR_OR_CSV --out DIR [...]`: many clips with one model load. A CSV gives
//! per-clip text, reference sound and range (`video,text,ref_audio,start,end`; only `video`
//! is required; `audio` names the real sound for `eval`; relative paths are relative to the
//! CSV). Each clip writes into its own folder; a clip whose report exists is skipped, so an
//! interrupted batch resumes where it stopped. A failing clip is recorded and the batch goes
//! on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use avsync_engine::pipeline::clips::read_clips;

use super::generate::{SettingsArgs, generate_clip};

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// A folder of videos, or a CSV listing them.
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// What happened to a clip.
#[derive(Debug, Serialize)]
struct ClipStatus {
    #[serde(serialize_with = "lossy")]
    video: PathBuf,
    #[serde(serialize_with = "lossy")]
    dir: PathBuf,
    status: &'static str,
    best_score: Option<f64>,
    error: Option<String>,
}

fn lossy<S: serde::Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

pub fn run(a: &BatchArgs) -> Result<()> {
    let clips = read_clips(&a.input)?;
    if clips.is_empty() {
        bail!("{}: no video clips found", a.input.display());
    }
    a.settings.wav_format()?;
    let generator = a.settings.generator()?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut statuses = Vec::with_capacity(clips.len());
    for (i, clip) in clips.iter().enumerate() {
        let stem = clip
            .video
            .file_stem()
            .map_or_else(|| "clip".into(), |s| s.to_string_lossy().into_owned());
        let dir = a.out.join(format!("{:04}_{stem}", i + 1));
        eprintln!("[{}/{}] {}", i + 1, clips.len(), clip.video.display());
        let mut status = ClipStatus {
            video: clip.video.clone(),
            dir: dir.clone(),
            status: "done",
            best_score: None,
            error: None,
        };
        if dir.join(format!("{stem}_report.json")).is_file() {
            status.status = "skipped (already done)";
        } else {
            let text = clip.text.as_deref().unwrap_or(&a.settings.text);
            let reference = clip
                .reference
                .as_deref()
                .or(a.settings.ref_audio.as_deref());
            let mut request =
                a.settings
                    .request_with(&clip.video, clip.start, clip.end, text, reference);
            if clip.events.is_some() {
                request.events.clone_from(&clip.events);
            }
            match request
                .validate()
                .map_err(anyhow::Error::from)
                .and_then(|()| generate_clip(&generator, &request, &a.settings, &dir, true))
            {
                Ok(out) => status.best_score = out.report.candidates.first().map(|c| c.score),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    status.status = "failed";
                    status.error = Some(format!("{e:#}"));
                }
            }
        }
        statuses.push(status);
        let json = serde_json::to_vec_pretty(&statuses)?;
        avsync_engine::media::output::write_atomic(&a.out.join("batch_report.json"), |w| {
            w.write_all(&json)
        })?;
    }
    let failed = statuses.iter().filter(|s| s.status == "failed").count();
    println!(
        "{}",
        serde_json::json!({
            "clips": statuses.len(),
            "failed": failed,
            "report": a.out.join("batch_report.json").to_string_lossy(),
        })
    );
    if failed > 0 {
        bail!(
            "{failed} of {} clips failed (see batch_report.json)",
            statuses.len()
        );
    }
    Ok(())
}
