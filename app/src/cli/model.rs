//! `avsync model init --preset tiny|small|compact --out DIR`: a new model directory with fresh
//! weights (the start of training, or a test model). `avsync model show DIR`: its manifest
//! and sizes.

use std::path::PathBuf;

use anyhow::Result;
use avsync_engine::pipeline::Model;
use avsync_engine::pipeline::inherit::inherit_weights;
use avsync_engine::pipeline::pack::pack_model;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use burn::tensor::Device;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Write a new model directory with freshly initialised weights.
    Init {
        /// Sizes: tiny (tests), small (the default tier at 10.24 s windows) or compact (the embedded default model).
        #[arg(long, default_value = "small")]
        preset: Preset,
        /// Display name.
        #[arg(long, default_value = "untrained")]
        name: String,
        /// Directory to create.
        #[arg(long)]
        out: PathBuf,
        /// A trained model to start from: every tensor whose name and shape it shares with
        /// the new one is carried over (plus its verifier heads and vocoding).
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Copy a trained model for shipping, weights in half precision (with the effect of that
    /// on the U-Net's output measured and printed).
    Pack {
        /// The trained model directory.
        src: PathBuf,
        /// Directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Keep full precision.
        #[arg(long)]
        full_precision: bool,
    },
    /// Load a model directory and print its manifest and latent shape.
    Show {
        /// The model directory.
        dir: PathBuf,
    },
}

pub fn run(c: &ModelCommand) -> Result<()> {
    match c {
        ModelCommand::Init {
            preset,
            name,
            out,
            from,
        } => {
            init_model_dir(*preset, name, out, &Device::flex())?;
            if let Some(from) = from {
                let report = inherit_weights(from, out)?;
                for (part, carried, fresh) in &report.parts {
                    eprintln!(
                        "{part}: {carried} tensors from {}, {fresh} fresh",
                        from.display()
                    );
                }
            }
            println!("{}", out.display());
        }
        ModelCommand::Pack {
            src,
            out,
            full_precision,
        } => {
            let report = pack_model(src, out, !full_precision, &Device::flex())?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        ModelCommand::Show { dir } => {
            let m = Model::load(dir, &Device::flex())?;
            let v = serde_json::json!({
                "manifest": m.manifest,
                "latent_shape": m.latent_shape,
                "frames_per_window": m.frame_count(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(())
}
