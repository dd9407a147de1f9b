//! The AvSync adapters (paper section 3): how video, frames and reference audio enter the
//! U-Net next to the text.
//!
//! - Global video feature (eq. 1): `Linear -> LayerNorm` into `num_video_tokens` tokens
//!   (IP-Adapter's ImageProjModel), read by new key/value projections of every text
//!   cross-attention that share its query ([`super::unet::attention::Attention::with_video`]).
//! - Frame features (eq. 2): `Linear -> RMSNorm`, read by a new cross-attention layer in every
//!   transformer block with rotary position embeddings on queries and keys.
//! - Reference audio (eq. 3): EnCodec RVQ embeddings, `Linear -> RMSNorm`, read by another new
//!   cross-attention layer.
//!
//! **One time scale for RoPE.** Keys are frames: frame `j` of `N`, sampled at `j * D / N`
//! over a window of `D` seconds, sits at position `j`. Queries are latent positions: the
//! transformer's tokens are a `H x W` grid (time rows x frequency columns), and row `h` covers
//! `[h, h + 1) * D / H`, so its centre sits at position `(h + 0.5) * N / H`. Positions are
//! thus in units of frame intervals at every resolution level, and the rotary angle between a
//! query and a key depends only on their time difference.
//!
//! Each adapter has a run-time scale; 0 removes its contribution exactly, and fresh adapters
//! have zero-initialised output projections, so they start as the unchanged backbone.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::nn::{LayerNorm, Linear, RmsNorm};
use super::weights::{StateDict, Weights};
use crate::error::{Error, Result};

/// Sizes of the adapters' inputs (the `adapter_config.json` of an adapter checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    /// Width of the global video feature (ViCLIP: 768).
    pub d_video: usize,
    /// Tokens the video feature is projected into.
    pub num_video_tokens: usize,
    /// Width of one frame feature (OpenCLIP ViT-H/14: 1024).
    pub d_frame: usize,
    /// Width of one reference-audio embedding (EnCodec: 128).
    pub d_audio: usize,
    /// Width of the tokens the U-Net's cross-attentions read.
    pub cross_attention_dim: usize,
    /// RoPE base.
    #[serde(default = "rope_theta")]
    pub rope_theta: f64,
}

fn rope_theta() -> f64 {
    10_000.0
}

impl AdapterConfig {
    /// Read `adapter_config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid adapter config: {e}")))
    }
}

/// Run-time strengths of the three adapters (0 = off).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdapterScales {
    /// Global video (eq. 1).
    pub video: f64,
    /// Frame attention (eq. 2).
    pub frames: f64,
    /// Audio attention (eq. 3).
    pub audio: f64,
}

impl Default for AdapterScales {
    fn default() -> Self {
        Self {
            video: 1.0,
            frames: 1.0,
            audio: 1.0,
        }
    }
}

impl AdapterScales {
    /// All adapters off: the plain text-to-audio backbone.
    pub const OFF: Self = Self {
        video: 0.0,
        frames: 0.0,
        audio: 0.0,
    };
}

/// `Linear -> LayerNorm` of the global video feature into tokens (`video_proj`).
#[derive(Module, Debug)]
pub struct VideoProjection {
    /// Feature to `num_tokens * cross_dim`.
    pub proj: Linear,
    /// Per-token normalisation.
    pub norm: LayerNorm,
    num_tokens: usize,
}

impl VideoProjection {
    /// Load from `w` (`video_proj.`).
    pub fn load(w: &Weights, cfg: &AdapterConfig) -> Result<Self> {
        Ok(Self {
            proj: Linear::load(
                &w.pp("proj"),
                cfg.d_video,
                cfg.num_video_tokens * cfg.cross_attention_dim,
                true,
            )?,
            norm: LayerNorm::load(&w.pp("norm"), cfg.cross_attention_dim, 1e-5)?,
            num_tokens: cfg.num_video_tokens,
        })
    }

    /// `[B, d_video] -> [B, num_tokens, cross_dim]`.
    pub fn forward(&self, video: Tensor<2>) -> Tensor<3> {
        let b = video.dims()[0];
        let tokens = self.proj.forward(video);
        let d = tokens.dims()[1] / self.num_tokens;
        self.norm.forward(tokens.reshape([b, self.num_tokens, d]))
    }
}

/// `Linear -> RMSNorm` of a sequence of features into tokens (`frame_proj`, `audio_proj`).
#[derive(Module, Debug)]
pub struct SequenceProjection {
    /// Feature to `cross_dim`.
    pub proj: Linear,
    /// Scale-only normalisation.
    pub norm: RmsNorm,
}

impl SequenceProjection {
    /// Load from `w`.
    pub fn load(w: &Weights, d_in: usize, d_out: usize) -> Result<Self> {
        Ok(Self {
            proj: Linear::load(&w.pp("proj"), d_in, d_out, true)?,
            norm: RmsNorm::load(&w.pp("norm"), d_out, 1e-6)?,
        })
    }

    /// `[B, N, d_in] -> [B, N, cross_dim]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.norm.forward(self.proj.forward(x))
    }
}

/// The three condition projections, shared by all transformer blocks.
#[derive(Module, Debug)]
pub struct ConditionProjections {
    /// Global video feature to tokens.
    pub video_proj: VideoProjection,
    /// Frame features to tokens.
    pub frame_proj: SequenceProjection,
    /// Reference-audio embeddings to tokens.
    pub audio_proj: SequenceProjection,
}

impl ConditionProjections {
    /// Load from the adapter weights `w`.
    pub fn load(w: &Weights, cfg: &AdapterConfig) -> Result<Self> {
        Ok(Self {
            video_proj: VideoProjection::load(&w.pp("video_proj"), cfg)?,
            frame_proj: SequenceProjection::load(
                &w.pp("frame_proj"),
                cfg.d_frame,
                cfg.cross_attention_dim,
            )?,
            audio_proj: SequenceProjection::load(
                &w.pp("audio_proj"),
                cfg.d_audio,
                cfg.cross_attention_dim,
            )?,
        })
    }
}

impl ConditionProjections {
    /// Append the projections' weights to `state` under their checkpoint names.
    pub fn save(&self, state: &mut StateDict) {
        self.video_proj.proj.save("video_proj.proj", state);
        self.video_proj.norm.save("video_proj.norm", state);
        self.frame_proj.proj.save("frame_proj.proj", state);
        self.frame_proj.norm.save("frame_proj.norm", state);
        self.audio_proj.proj.save("audio_proj.proj", state);
        self.audio_proj.norm.save("audio_proj.norm", state);
    }
}

/// Raw conditions of one batch, before projection.
#[derive(Debug, Clone)]
pub struct ConditionInputs {
    /// Global video feature `[B, d_video]`.
    pub video: Option<Tensor<2>>,
    /// Frame features `[B, N, d_frame]`.
    pub frames: Option<Tensor<3>>,
    /// Reference-audio embeddings `[B, Na, d_audio]`.
    pub audio: Option<Tensor<3>>,
}

/// Everything the transformer blocks attend to, as tokens of the cross-attention width
/// (`UNet2DConditionModel::project` turns them into each block's keys and values).
#[derive(Debug, Clone)]
pub struct Conditions {
    /// Text tokens `[B, L, cross_dim]`.
    pub text: Tensor<3>,
    /// Additive key bias for padded text tokens `[B, 1, 1, L]` (0 or -10000, as diffusers).
    pub text_bias: Option<Tensor<4>>,
    /// Video tokens `[B, Nv, cross_dim]`.
    pub video: Option<Tensor<3>>,
    /// Frame tokens `[B, N, cross_dim]`.
    pub frames: Option<Tensor<3>>,
    /// Reference-audio tokens `[B, Na, cross_dim]`.
    pub audio: Option<Tensor<3>>,
    /// Adapter strengths.
    pub scales: AdapterScales,
}

impl Conditions {
    /// Text-only conditions; `mask` is `[B, L]` with 1 for real tokens and 0 for padding.
    pub fn text(text: Tensor<3>, mask: Option<Tensor<2>>) -> Self {
        let text_bias = mask.map(|m| {
            let [b, l] = m.dims();
            m.neg()
                .add_scalar(1.0)
                .mul_scalar(-10_000.0)
                .reshape([b, 1, 1, l])
        });
        Self {
            text,
            text_bias,
            video: None,
            frames: None,
            audio: None,
            scales: AdapterScales::OFF,
        }
    }
}

/// Rotary tables `(cos, sin)`, each `[L, head_dim]`, for real-valued positions
/// (rotate-half layout: frequencies repeated over both halves).
pub fn rope_tables(
    positions: &[f64],
    head_dim: usize,
    theta: f64,
    device: &burn::tensor::Device,
) -> (Tensor<2>, Tensor<2>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(positions.len() * head_dim);
    let mut sin = Vec::with_capacity(positions.len() * head_dim);
    let inv_freq: Vec<f64> = (0..half)
        .map(|i| theta.powf(-((2 * i) as f64) / head_dim as f64))
        .collect();
    for &p in positions {
        let (c, s): (Vec<f32>, Vec<f32>) = inv_freq
            .iter()
            .map(|f| ((p * f).cos() as f32, (p * f).sin() as f32))
            .unzip();
        cos.extend_from_slice(&c);
        cos.extend_from_slice(&c);
        sin.extend_from_slice(&s);
        sin.extend_from_slice(&s);
    }
    let l = positions.len();
    (
        Tensor::<1>::from_floats(cos.as_slice(), device).reshape([l, head_dim]),
        Tensor::<1>::from_floats(sin.as_slice(), device).reshape([l, head_dim]),
    )
}

/// Apply rotary embeddings to `[B, heads, L, d]` with `[L, d]` tables.
pub fn apply_rope(x: Tensor<4>, cos: &Tensor<2>, sin: &Tensor<2>) -> Tensor<4> {
    let d = x.dims()[3];
    let x1 = x.clone().narrow(3, 0, d / 2);
    let x2 = x.clone().narrow(3, d / 2, d / 2);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone().unsqueeze::<4>() + rotated * sin.clone().unsqueeze::<4>()
}

/// Positions of the query rows of an `h x w` token grid and of `n` frame keys, on the
/// common frame-interval scale described in the module documentation.
pub fn frame_positions(h: usize, w: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let queries = (0..h * w)
        .map(|i| ((i / w) as f64 + 0.5) * n as f64 / h as f64)
        .collect();
    let keys = (0..n).map(|j| j as f64).collect();
    (queries, keys)
}
