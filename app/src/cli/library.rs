//! `avsync library`: index a folder of sounds once (then only new and changed files), and
//! search it by description or by example.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use avsync_engine::library::{LibraryIndex, SoundEmbedder, search_example, search_text};
use avsync_engine::pipeline::model::{assets_dir, default_model_dir};
use clap::{Args, Subcommand};

use super::progress::counter;

/// The index is written this often during a long indexing run, so an interrupted run keeps
/// its work.
const SAVE_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Index the sounds of a folder (again: only new and changed files are read).
    Index(IndexArgs),
    /// Search the index by description, or by example with --like.
    Search(SearchArgs),
}

#[derive(Debug, Args)]
pub struct Where {
    /// Index file (default: library.avslib beside the user's settings).
    #[arg(long)]
    index: Option<PathBuf>,
    /// Model whose verifier heads match text with sounds (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The folder of sounds.
    dir: PathBuf,
    #[command(flatten)]
    at: Where,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What should be heard ("footsteps on gravel").
    query: Option<String>,
    /// A sound to find more like (a file; it need not be in the library).
    #[arg(long)]
    like: Option<PathBuf>,
    /// How many results.
    #[arg(long, short = 'n', default_value_t = 10)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    at: Where,
}

impl Where {
    fn index(&self) -> Result<PathBuf> {
        match &self.index {
            Some(p) => Ok(p.clone()),
            None => default_index(),
        }
    }

    fn embedder(&self) -> Result<SoundEmbedder> {
        let model = self.model.clone().unwrap_or_else(default_model_dir);
        Ok(SoundEmbedder::load(
            &assets_dir().join("models"),
            &model,
            &burn::tensor::Device::flex(),
        )?)
    }
}

fn default_index() -> Result<PathBuf> {
    crate::settings::default_library_index()
        .context("no home folder to keep the index in: give --index FILE")
}

pub fn run(c: &LibraryCommand) -> Result<()> {
    match c {
        LibraryCommand::Index(a) => index(a),
        LibraryCommand::Search(a) => search(a),
    }
}

fn index(a: &IndexArgs) -> Result<()> {
    let path = a.at.index()?;
    let mut library = LibraryIndex::load(&path)?;
    let embedder = a.at.embedder()?;
    let bar = counter("indexing", 0);
    let t = Instant::now();
    let report = library.update_saving(&a.dir, &embedder, &path, SAVE_EVERY, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        true
    })?;
    bar.finish_and_clear();
    let root = std::fs::canonicalize(&a.dir)?;
    let skipped: Vec<_> = library
        .skipped
        .iter()
        .filter(|s| s.path.starts_with(&root))
        .collect();
    for s in &skipped {
        eprintln!("skipped {}: {}", s.path.display(), s.reason);
    }
    println!(
        "{}: {} sounds found, {} new, {} changed, {} removed, {} skipped ({:.1} s); the index \
         holds {} sounds: {}",
        a.dir.display(),
        report.found,
        report.added,
        report.changed,
        report.removed,
        skipped.len(),
        t.elapsed().as_secs_f64(),
        library.len(),
        path.display()
    );
    Ok(())
}

fn search(a: &SearchArgs) -> Result<()> {
    let path = a.at.index()?;
    if !path.is_file() {
        bail!(
            "{}: no library index yet; run `avsync library index DIR` first",
            path.display()
        );
    }
    let library = LibraryIndex::load(&path)?;
    let embedder = a.at.embedder()?;
    let t = Instant::now();
    let hits = match (&a.query, &a.like) {
        (Some(q), None) => {
            let (joint, sentence) = embedder.query(q)?;
            search_text(&library, q, &joint, &sentence, a.limit)
        }
        (None, Some(example)) => {
            let e = example_embedding(&library, &embedder, example)?;
            search_example(&library, &e, a.limit)
        }
        _ => bail!("give either a description or --like FILE"),
    };
    let took_ms = t.elapsed().as_secs_f64() * 1e3;
    if a.json {
        let rows: Vec<_> = hits
            .iter()
            .map(|h| {
                let e = &library.entries[h.index];
                serde_json::json!({
                    "path": e.path, "score": h.score, "duration_s": e.duration_s,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "hits": rows, "searched": library.len(), "ms": took_ms,
            }))?
        );
    } else {
        for h in &hits {
            let e = &library.entries[h.index];
            println!(
                "{:6.3}  {:6.2} s  {}",
                h.score,
                e.duration_s,
                e.path.display()
            );
        }
        eprintln!("{} sounds searched in {took_ms:.1} ms", library.len());
    }
    Ok(())
}

/// The aisfx embedding of `example`: from the index when it is there, else computed.
fn example_embedding(
    library: &LibraryIndex,
    embedder: &SoundEmbedder,
    example: &Path,
) -> Result<Vec<f32>> {
    let full = std::fs::canonicalize(example)
        .with_context(|| format!("{}: cannot open", example.display()))?;
    Ok(match library.find(&full) {
        Some(i) => library.audio_embedding(i).to_vec(),
        None => embedder.sound(&full)?.audio,
    })
}
