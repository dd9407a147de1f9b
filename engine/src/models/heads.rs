//! The verifier heads: CLAP-style projections of a frozen sentence embedding (MiniLM) and a
//! frozen sound embedding (aisfx) into one space, where cosine similarity says how well a
//! sound matches a description. Each side is `Linear -> GELU -> Linear`, L2-normalised; a
//! learned temperature scales the similarities during contrastive training.

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::nn::{Linear, gelu};
use super::weights::{Init, Weights};
use crate::error::{Error, Result};

/// Sizes of the heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadsConfig {
    /// Sentence-embedding width.
    pub text_dim: usize,
    /// Sound-embedding width.
    pub audio_dim: usize,
    /// Hidden width of each projection.
    pub hidden_dim: usize,
    /// Width of the joint space.
    pub joint_dim: usize,
}

impl HeadsConfig {
    /// Read `heads_config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid heads config: {e}")))
    }
}

/// One side's projection.
#[derive(Module, Debug)]
pub struct Projection {
    /// First layer.
    pub fc1: Linear,
    /// Second layer.
    pub fc2: Linear,
}

impl Projection {
    fn load(w: &Weights, d_in: usize, hidden: usize, out: usize) -> Result<Self> {
        Ok(Self {
            fc1: Linear::load(&w.pp("fc1"), d_in, hidden, true)?,
            fc2: Linear::load(&w.pp("fc2"), hidden, out, true)?,
        })
    }

    /// Unit vectors `[B, joint]` from embeddings `[B, d_in]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = self.fc2.forward(gelu(self.fc1.forward(x)));
        let norm = y.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-8);
        y / norm
    }
}

/// Both projections and the temperature.
#[derive(Module, Debug)]
pub struct VerifierHeads {
    /// Text side.
    pub text: Projection,
    /// Sound side.
    pub audio: Projection,
    /// Log of the similarity scale as an offset from ln 10 (CLIP's `logit_scale` starts
    /// there; zero-initialised).
    pub logit_scale: Param<Tensor<1>>,
}

impl VerifierHeads {
    /// Load from `w` (fresh weights for new heads).
    pub fn load(cfg: &HeadsConfig, w: &Weights) -> Result<Self> {
        let heads = Self {
            text: Projection::load(
                &w.pp("text_proj"),
                cfg.text_dim,
                cfg.hidden_dim,
                cfg.joint_dim,
            )?,
            audio: Projection::load(
                &w.pp("audio_proj"),
                cfg.audio_dim,
                cfg.hidden_dim,
                cfg.joint_dim,
            )?,
            logit_scale: w.param("logit_scale", [1], Init::Zeros)?,
        };
        w.finish()?;
        Ok(heads)
    }

    /// Load `heads_config.json` + `heads.safetensors` from `dir`.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        let cfg = HeadsConfig::from_file(&dir.join("heads_config.json"))?;
        let w = Weights::from_files(&[dir.join("heads.safetensors")], device)?;
        Self::load(&cfg, &w)
    }

    /// The similarity scale, `exp(ln 10 + logit_scale)`, kept at most 100 as in CLIP.
    pub fn scale(&self) -> Tensor<1> {
        self.logit_scale
            .val()
            .add_scalar(10f64.ln())
            .clamp_max(100f64.ln())
            .exp()
    }

    /// Cosine similarities `[Bt, Ba]` between sentence and sound embeddings.
    pub fn similarity(&self, text: Tensor<2>, audio: Tensor<2>) -> Tensor<2> {
        self.text
            .forward(text)
            .matmul(self.audio.forward(audio).transpose())
    }
}
