//! `avsync train STAGE --model DIR --data SET`: train one part of a default-tier model
//! (vae, vocoder, unet, heads) on a sound set, resumably. The run's checkpoints and loss log
//! live in `--run` (default: `DIR.runs/STAGE`); the result is written into the model.

use std::path::PathBuf;

use anyhow::{Result, bail};
use avsync_engine::device::{ComputePreference, select};
use avsync_engine::train::heads::{Embeddings, train_heads};
use avsync_engine::train::{
    SoundSet, TrainProgress, TrainRun, TrainSettings, diffusion, heads, vae, vocoder,
    vocoder_compare,
};
use clap::{Args, ValueEnum};

/// The trainable parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    /// The mel VAE.
    Vae,
    /// The vocoder.
    Vocoder,
    /// The U-Net with its adapters.
    Unet,
    /// The audio-text verifier heads.
    Heads,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Which part to train.
    pub stage: StageArg,
    /// The model directory (from `avsync model init`).
    #[arg(long)]
    pub model: PathBuf,
    /// The sound set (from `avsync dataset`).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory (checkpoints, optimizer state, loss log).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Steps to reach (a resumed run continues up to this count).
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Warm-up steps.
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    /// Seed of data order, noise and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 50)]
    pub checkpoint_every: usize,
    /// Decay of the weight average written as the result (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub ema: f64,
    /// Compute device: auto, gpu or cpu.
    #[arg(long, default_value = "auto")]
    pub device: ComputePreference,
    /// Only measure the model's part on the validation split (no training) and print it;
    /// for the vocoder, a table of every waveform stage (universal HiFi-GAN, the model's
    /// vocoder, Griffin-Lim settings) on the same segments.
    #[arg(long)]
    pub validate: bool,
    /// Validation clips or segments.
    #[arg(long, default_value_t = 48)]
    pub validation_count: usize,
}

/// The stage's validation numbers as JSON.
fn validate(
    a: &TrainArgs,
    set: &SoundSet,
    device: &burn::tensor::Device,
) -> Result<serde_json::Value> {
    let n = a.validation_count;
    Ok(match a.stage {
        StageArg::Vae => serde_json::json!({
            "crops": n,
            "log_mel_l1": vae::validate_vae(&a.model, set, n, device)?,
        }),
        StageArg::Vocoder => {
            serde_json::to_value(vocoder::validate_vocoder(&a.model, set, n, device)?)?
        }
        StageArg::Unet => {
            serde_json::to_value(diffusion::validate_unet(&a.model, set, n, device)?)?
        }
        StageArg::Heads => bail!("the heads are measured at the end of their training (retrieval)"),
    })
}

fn stage_name(s: StageArg) -> &'static str {
    match s {
        StageArg::Vae => vae::STAGE,
        StageArg::Vocoder => vocoder::STAGE,
        StageArg::Unet => diffusion::STAGE,
        StageArg::Heads => heads::STAGE,
    }
}

pub fn run(a: &TrainArgs) -> Result<()> {
    if !a.model.is_dir() {
        bail!("{}: no such model directory", a.model.display());
    }
    let name = stage_name(a.stage);
    let run_dir = match &a.run {
        Some(r) => r.clone(),
        None => {
            // Beside the model, never inside it (a packed model must not carry its runs).
            let model = std::fs::canonicalize(&a.model)?;
            let base = model
                .file_name()
                .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
            model
                .parent()
                .unwrap_or(&model)
                .join(format!("{base}.runs"))
                .join(name)
        }
    };
    let settings = TrainSettings {
        steps: a.steps,
        batch: a.batch,
        learning_rate: a.lr,
        warmup: a.warmup,
        seed: a.seed,
        checkpoint_every: a.checkpoint_every,
        ema_decay: a.ema,
        ..TrainSettings::default()
    };
    let set = SoundSet::open(&a.data)?;
    let compute = select(a.device);
    if a.validate && a.stage == StageArg::Vocoder {
        // Every waveform stage on the same segments, so the model can ship the best one.
        let c =
            vocoder_compare::compare_vocoders(&a.model, &set, a.validation_count, &compute.device)?;
        println!("{}", c.table());
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    if a.validate {
        let v = validate(a, &set, &compute.device)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let mut run = TrainRun::open(&run_dir, name, &settings)?;
    eprintln!(
        "training {name} of {} on {} ({}); run {} from step {}",
        a.model.display(),
        compute.name,
        a.data.display(),
        run_dir.display(),
        run.state.step
    );
    let bar = super::progress::counter(name, run.state.settings.steps as u64);
    bar.set_position(run.state.step as u64);
    let mut show = |p: &TrainProgress| {
        bar.set_position(p.step as u64);
        let terms: Vec<String> = p
            .losses
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        bar.set_message(format!("{name} {}", terms.join(" ")));
        if !bar.is_hidden() {
            return;
        }
        if p.step % 10 == 0 || p.step == p.steps {
            eprintln!(
                "{name} step {}/{} {} ({:.0} s)",
                p.step,
                p.steps,
                terms.join(" "),
                p.seconds
            );
        }
    };
    let device = &compute.device;
    match a.stage {
        StageArg::Vae => vae::train_vae(&a.model, &set, &mut run, device, &mut show)?,
        StageArg::Vocoder => vocoder::train_vocoder(&a.model, &set, &mut run, device, &mut show)?,
        StageArg::Unet => diffusion::train_unet(&a.model, &set, &mut run, device, &mut show)?,
        StageArg::Heads => {
            let aisfx =
                avsync_engine::pipeline::model::load_aisfx(device).map_err(anyhow::Error::msg)?;
            let minilm = avsync_engine::encoders::minilm::MiniLm::from_dir(
                &avsync_engine::pipeline::model::assets_dir()
                    .join("models")
                    .join("minilm"),
                device,
            )?;
            eprintln!("embedding {} sounds", set.index.sounds.len());
            let emb = Embeddings::compute(&set, &aisfx, &minilm)?;
            let r = train_heads(&a.model, &set, &emb, &mut run, device, &mut show)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
    }
    bar.finish_and_clear();
    if a.stage != StageArg::Heads {
        let v = validate(a, &set, device)?;
        let path = run_dir.join("validation.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&v)?)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    eprintln!(
        "{name}: step {} after {:.0} s of training; written to {}",
        run.state.step,
        run.seconds(),
        a.model.display()
    );
    Ok(())
}
