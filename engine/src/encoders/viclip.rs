//! ViCLIP video encoder ("InternVid: A Large-scale Video-Text Dataset for Multimodal
//! Understanding and Generation", Wang et al. 2024): a CLIP ViT over the patches of all
//! frames at once, as InternVid's `viclip_vision.py` runs it at inference.
//!
//! Frames `(B, T, 3, H, W)` are embedded patch by patch (a Conv3d with tubelet size 1, i.e. a
//! 2-D patch convolution per frame), get the spatial positions and, per frame, a learned
//! temporal position; one class token per video (class embedding + position 0) leads the
//! sequence, followed by the patch tokens patch-major (token `1 + n * T + t` is patch `n` of
//! frame `t`). Then `ln_pre`, OpenAI-CLIP blocks with QuickGELU over the joint space-time
//! sequence, `ln_post` of the class token and the projection. The global video embedding
//! conditions the U-Net; [`ViClip::video_features`] L2-normalises it as `get_vid_features`
//! does. Training-only parts (random token masking, drop-path, dropout) are not part of it.

use std::path::PathBuf;

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};
use serde::Deserialize;

use super::clip::{ClipActivation, ClipLayer};
use crate::error::{Error, Result};
use crate::models::nn::{LayerNorm, Linear};
use crate::models::weights::{Init, Weights};

/// ViCLIP vision-encoder configuration (InternVid's argument names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ViClipConfig {
    /// Frame side in pixels (square).
    pub input_resolution: usize,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// Transformer width.
    pub width: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the video embedding.
    pub output_dim: usize,
    /// Tubelet size (frames per patch); only 1 is supported, as ViCLIP uses.
    #[serde(default = "one")]
    pub kernel_size: usize,
    /// Frames per clip (rows of the temporal position table).
    #[serde(default = "eight")]
    pub num_frames: usize,
}

fn one() -> usize {
    1
}
fn eight() -> usize {
    8
}

impl ViClipConfig {
    /// ViCLIP-L/14 (`ViClip-InternVid-10M-FLT`): 224 px, patch 14, width 1024, 24 blocks of 16
    /// heads, embedding 768, 8 frames.
    pub fn viclip_l14() -> Self {
        Self {
            input_resolution: 224,
            patch_size: 14,
            width: 1024,
            layers: 24,
            heads: 16,
            output_dim: 768,
            kernel_size: 1,
            num_frames: 8,
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.kernel_size != 1 {
            return Err(format!(
                "tubelet size {} is not supported (only 1)",
                self.kernel_size
            ));
        }
        if self.patch_size == 0 || self.input_resolution % self.patch_size != 0 {
            return Err("frame size is not a multiple of the patch size".into());
        }
        if self.heads == 0 || self.width % self.heads != 0 {
            return Err("width does not divide into the heads".into());
        }
        if self.num_frames == 0 {
            return Err("the number of frames must be positive".into());
        }
        Ok(())
    }

    /// Patches per frame.
    pub fn patches(&self) -> usize {
        (self.input_resolution / self.patch_size).pow(2)
    }
}

/// The ViCLIP vision encoder (`vision_encoder.*` of the ViCLIP checkpoint).
#[derive(Module, Debug)]
pub struct ViClip {
    /// `conv1` (Conv3d `[W, 3, 1, p, p]`, stored as the 2-D kernel `[W, 3, p, p]`), no bias.
    pub conv1: Param<Tensor<4>>,
    /// `class_embedding`: `[W]`.
    pub class_embedding: Param<Tensor<1>>,
    /// `positional_embedding`: `[1 + N, W]` (spatial).
    pub positional_embedding: Param<Tensor<2>>,
    /// `temporal_positional_embedding`: `[1, T, W]`.
    pub temporal_positional_embedding: Param<Tensor<3>>,
    /// `ln_pre`.
    pub ln_pre: LayerNorm,
    /// `transformer.resblocks.N`.
    pub resblocks: Vec<ClipLayer>,
    /// `ln_post`.
    pub ln_post: LayerNorm,
    /// `proj` `[W, E]`, applied as `x @ proj`.
    pub proj: Linear,
    patch_size: usize,
    resolution: usize,
}

impl ViClip {
    /// Load from `w` holding the checkpoint's `vision_encoder.*` keys (the text encoder and
    /// `temp` of a full ViCLIP file are left unread).
    pub fn load(cfg: &ViClipConfig, w: &Weights) -> Result<Self> {
        cfg.validate().map_err(Error::invalid)?;
        let v = w.pp("vision_encoder");
        let (d, p) = (cfg.width, cfg.patch_size);
        let eps = 1e-5;
        let model = Self {
            conv1: Param::from_tensor(
                v.pp("conv1")
                    .get("weight", [d, 3, 1, p, p], Init::FanIn(3 * p * p))?
                    .reshape([d, 3, p, p]),
            ),
            class_embedding: Param::from_tensor(v.get(
                "class_embedding",
                [d],
                Init::Normal(1.0),
            )?),
            positional_embedding: Param::from_tensor(v.get(
                "positional_embedding",
                [cfg.patches() + 1, d],
                Init::Normal(0.02),
            )?),
            temporal_positional_embedding: Param::from_tensor(v.get(
                "temporal_positional_embedding",
                [1, cfg.num_frames, d],
                Init::Zeros,
            )?),
            ln_pre: LayerNorm::load(&v.pp("ln_pre"), d, eps)?,
            resblocks: (0..cfg.layers)
                .map(|i| {
                    ClipLayer::load_openclip(
                        &v.pp("transformer").pp("resblocks").pp(i),
                        d,
                        4 * d,
                        cfg.heads,
                        eps,
                        ClipActivation::QuickGelu,
                    )
                })
                .collect::<Result<Vec<_>>>()?,
            ln_post: LayerNorm::load(&v.pp("ln_post"), d, eps)?,
            proj: Linear {
                weight: Param::from_tensor(v.get("proj", [d, cfg.output_dim], Init::FanIn(d))?),
                bias: None,
            },
            patch_size: p,
            resolution: cfg.input_resolution,
        };
        v.finish()?;
        Ok(model)
    }

    /// Load the vision encoder from safetensors `files`.
    pub fn from_files(cfg: &ViClipConfig, files: &[PathBuf], device: &Device) -> Result<Self> {
        Self::load(cfg, &Weights::from_files(files, device)?)
    }

    /// Width of the video embedding.
    pub fn embed_dim(&self) -> usize {
        self.proj.weight.dims()[1]
    }

    /// Frames per clip the temporal positions cover.
    pub fn num_frames(&self) -> usize {
        self.temporal_positional_embedding.dims()[1]
    }

    /// Frame side in pixels.
    pub fn resolution(&self) -> usize {
        self.resolution
    }

    /// The token sequence after `ln_pre`, `[B, 1 + N * T, W]`, of normalised frames
    /// `[B, T, 3, S, S]`. `T` must be the trained frame count, or 1 (a single frame gets the
    /// mean temporal position); no frames, no clips, or another frame size is an
    /// [`Error::InvalidInput`].
    pub fn tokens(&self, frames: Tensor<5>) -> Result<Tensor<3>> {
        let [b, t, c, h, w] = frames.dims();
        let s = self.resolution;
        if b == 0 || t == 0 {
            return Err(Error::invalid(format!(
                "{b} clips of {t} frames: nothing to encode"
            )));
        }
        if c != 3 || h != s || w != s {
            return Err(Error::invalid(format!(
                "frames are {c} x {h} x {w}, the video encoder expects 3 x {s} x {s}"
            )));
        }
        if t != 1 && t != self.num_frames() {
            return Err(Error::invalid(format!(
                "{t} frames per clip, the video encoder takes {} (or 1)",
                self.num_frames()
            )));
        }
        let opts = ConvOptions::new([self.patch_size; 2], [0, 0], [1, 1], 1);
        let x = conv2d(
            frames.reshape([b * t, c, h, w]),
            self.conv1.val(),
            None,
            opts,
        );
        let [_, d, gh, gw] = x.dims();
        let n = gh * gw;
        // (B, T, N, W) + spatial positions + per-frame temporal positions.
        let x = x.reshape([b, t, d, n]).swap_dims(2, 3);
        let pos = self.positional_embedding.val();
        let x = x + pos.clone().narrow(0, 1, n).reshape([1, 1, n, d]);
        let temporal = self.temporal_positional_embedding.val();
        let temporal = if t == 1 {
            temporal.mean_dim(1)
        } else {
            temporal
        };
        let x = x + temporal.reshape([1, t, 1, d]);
        // Patch-major: token 1 + n * T + t.
        let x = x.swap_dims(1, 2).reshape([b, n * t, d]);
        let cls = (self.class_embedding.val() + pos.narrow(0, 0, 1).reshape([d]))
            .reshape([1, 1, d])
            .expand([b, 1, d]);
        Ok(self.ln_pre.forward(Tensor::cat(vec![cls, x], 1)))
    }

    /// The video embedding `[B, output_dim]` (not normalised) of frames `[B, T, 3, S, S]`.
    pub fn forward(&self, frames: Tensor<5>) -> Result<Tensor<2>> {
        let x = self.tokens(frames)?;
        let x = self.resblocks.iter().fold(x, |x, block| block.forward(x));
        let [b, _, d] = x.dims();
        let cls = self.ln_post.forward(x.narrow(1, 0, 1).reshape([b, d]));
        Ok(self.proj.forward(cls))
    }

    /// The unit-length video embedding (`get_vid_features`: `x / ||x||`, no epsilon).
    pub fn video_features(&self, frames: Tensor<5>) -> Result<Tensor<2>> {
        let x = self.forward(frames)?;
        let norm = x.clone().square().sum_dim(1).sqrt();
        Ok(x / norm)
    }
}
