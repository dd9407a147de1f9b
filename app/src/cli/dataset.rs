//! `avsync dataset LIBRARY --out SET`: turn a folder of sound files into a training set
//! (decoded, trimmed, captioned from paths or a CSV, split, licences recorded).

use std::path::PathBuf;

use anyhow::Result;
use avsync_engine::eval::unseen::write_unseen_clips;
use avsync_engine::features::track::MotionTokens;
use avsync_engine::train::dataset::{
    DatasetOptions, SoundSet, Split, build_dataset, read_caption_csv,
};
use avsync_engine::train::synth::{ClipSpec, write_eval_clips};
use clap::Args;

#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// Folder of sound files (searched recursively).
    pub library: PathBuf,
    /// Folder of the set to write.
    #[arg(long)]
    pub out: PathBuf,
    /// CSV of `path,caption` rows (paths relative to the library); other files are captioned
    /// from their paths.
    #[arg(long)]
    pub captions: Option<PathBuf>,
    /// Fraction held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub validation: f64,
    /// Longest sound in seconds: longer recordings (ambiences, machines) are cut into equal
    /// pieces no longer than this, each in its file's split.
    #[arg(long, default_value_t = 30.0)]
    pub max_seconds: f64,
    /// Files longer than this many seconds are left out (music beds, long field recordings).
    #[arg(long, default_value_t = 300.0)]
    pub max_file_seconds: f64,
    /// Also write this many evaluation clips from the validation split (rendered picture
    /// whose events follow the sound, sound as the audio track) to `OUT/eval/`, with a
    /// `clips.csv` for `avsync eval`.
    #[arg(long, default_value_t = 0)]
    pub eval_clips: usize,
    /// Also write this many clips of the unseen family (a separate renderer with physical
    /// motion, other shapes, backgrounds and cameras, never used in training) to
    /// `OUT/eval-unseen/`, with a `clips.csv`.
    #[arg(long, default_value_t = 0)]
    pub unseen_clips: usize,
    /// Only write the evaluation clips of the set already at `--out` (no decoding).
    #[arg(long)]
    pub clips_only: bool,
    /// Length of each evaluation clip in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub eval_seconds: f64,
    /// Seed of the evaluation clips' placement and pictures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(a: &DatasetArgs) -> Result<()> {
    if !a.clips_only {
        build(a)?;
    }
    let set = SoundSet::open(&a.out)?;
    if a.eval_clips > 0 {
        let spec = ClipSpec {
            window_s: a.eval_seconds,
            frame_count: 1,
            grid: 4,
            tokens: MotionTokens::Kinematic,
        };
        let csv = write_eval_clips(&set, &spec, a.eval_clips, a.seed, &a.out.join("eval"))?;
        println!("{} evaluation clips: {}", a.eval_clips, csv.display());
    }
    if a.unseen_clips > 0 {
        let dir = a.out.join("eval-unseen");
        let csv = write_unseen_clips(&set, a.eval_seconds, a.unseen_clips, a.seed, &dir)?;
        println!("{} unseen-family clips: {}", a.unseen_clips, csv.display());
    }
    Ok(())
}

/// Decode, caption and split the library into the set.
fn build(a: &DatasetArgs) -> Result<()> {
    let captions = match &a.captions {
        Some(p) => read_caption_csv(p)?,
        None => Default::default(),
    };
    let opts = DatasetOptions {
        validation_fraction: a.validation,
        max_seconds: a.max_seconds,
        max_file_seconds: a.max_file_seconds,
        captions,
        ..DatasetOptions::default()
    };
    let bar = super::progress::counter("decoding", 0);
    let index = build_dataset(&a.library, &a.out, &opts, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let count = |s: Split| index.sounds.iter().filter(|e| e.split == s).count();
    let seconds: usize = index.sounds.iter().map(|e| e.len).sum();
    let mut captions: Vec<&str> = index.sounds.iter().map(|e| e.caption.as_str()).collect();
    captions.sort_unstable();
    captions.dedup();
    println!(
        "{}: {} sounds ({:.0} s; {} train, {} validation), {} distinct captions, {} files skipped",
        a.out.display(),
        index.sounds.len(),
        seconds as f64 / f64::from(index.sample_rate),
        count(Split::Train),
        count(Split::Validation),
        captions.len(),
        index.skipped.len()
    );
    Ok(())
}
