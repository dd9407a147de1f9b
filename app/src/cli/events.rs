//! `avsync events CSV|VIDEO...`: the picture's event picker measured against known events, or
//! the events it picks on a video.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use avsync_engine::eval::events::EventCounts;
use avsync_engine::features::events::{EventPicking, pick_events};
use avsync_engine::features::track::MotionTrack;
use avsync_engine::media::probe;
use avsync_engine::pipeline::clips::{VIDEO_EXTENSIONS, has_extension, read_clips};
use clap::Args;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Clip lists with an `events` column (each a family, named by its folder), or videos.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// How readily events are picked, 0 to 1.
    #[arg(long, default_value_t = EventPicking::default().sensitivity)]
    sensitivity: f32,
    /// A picked event within this many frames of a true one is right.
    #[arg(long, default_value_t = 2.0)]
    tolerance_frames: f64,
    /// Also print each clip's true and picked events.
    #[arg(long)]
    per_clip: bool,
}

pub fn run(a: &EventsArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.sensitivity) {
        bail!("--sensitivity must be between 0 and 1");
    }
    let picking = EventPicking {
        sensitivity: a.sensitivity,
        ..EventPicking::default()
    };
    let mut rows = Vec::new();
    for input in &a.inputs {
        if has_extension(input, &VIDEO_EXTENSIONS) {
            let seconds = probe(input)?.duration_s;
            let track = MotionTrack::analyse(input, (0.0, seconds), 4)?;
            let events = pick_events(&track, &picking);
            println!(
                "{}: {} events in {seconds:.2} s ({:.2} per second)",
                input.display(),
                events.len(),
                events.len() as f64 / seconds.max(1e-9)
            );
            for e in events {
                println!(
                    "  {:8.3} s  confidence {:.2}  region {:.2?}",
                    e.time_s, e.confidence, e.region
                );
            }
            continue;
        }
        let clips = read_clips(input)?;
        let family = input.parent().and_then(|p| p.file_name()).map_or_else(
            || input.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let (mut sum, mut analysis) = (EventCounts::default(), 0f64);
        for clip in &clips {
            let truth = clip.events.as_ref().with_context(|| {
                format!("{}: the clip list has no `events` column", input.display())
            })?;
            let start = clip.start.unwrap_or(0.0);
            let end = match clip.end {
                Some(e) => e,
                None => probe(&clip.video)?.duration_s,
            };
            let clock = Instant::now();
            let track = MotionTrack::analyse(&clip.video, (start, end), 4)?;
            let events = pick_events(&track, &picking);
            let picked: Vec<f64> = events.iter().map(|e| e.time_s).collect();
            analysis += clock.elapsed().as_secs_f64();
            if a.per_clip {
                let times: Vec<String> = truth.iter().map(|t| format!("{t:.2}")).collect();
                println!("{}: true [{}]", clip.video.display(), times.join(" "));
                for e in &events {
                    println!(
                        "  {:6.2} s  confidence {:.2}  region {:.2?}",
                        e.time_s, e.confidence, e.region
                    );
                }
            }
            let tolerance = a.tolerance_frames / track.fps;
            sum = sum + EventCounts::of(truth, &picked, tolerance, end - start);
        }
        rows.push((family, clips.len(), sum, analysis));
    }
    if !rows.is_empty() {
        println!(
            "| family | clips | seconds | true | picked | precision | recall | F1 | false / s | analysis s / video s |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for (family, clips, c, analysis) in rows {
            println!(
                "| {family} | {clips} | {:.1} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                c.seconds,
                c.truth,
                c.picked,
                c.precision(),
                c.recall(),
                c.f1(),
                c.false_per_second(),
                analysis / c.seconds.max(1e-9)
            );
        }
    }
    Ok(())
}
