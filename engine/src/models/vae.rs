//! AudioLDM's mel-spectrogram VAE (diffusers `AutoencoderKL`, "High-Resolution Image Synthesis
//! with Latent Diffusion Models", Rombach et al. 2022): a log-mel image `[B, 1, T, 64]` is
//! encoded to a Gaussian posterior over latents `[B, 8, T/4, 16]` and decoded back. The
//! latent scale factor is applied by the pipeline, not here, as in diffusers.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;
use serde::{Deserialize, Serialize};

use super::nn::{Conv2d, GroupNorm, Linear};
use super::resnet::ResnetBlock2D;
use super::unet::attention::{merge_heads, sdpa, split_heads};
use super::unet::blocks::upsample_nearest2x;
use super::weights::Weights;
use crate::error::{Error, Result};

/// Epsilon of every group norm in the VAE.
const EPS: f64 = 1e-6;

/// `AutoencoderKL` configuration (diffusers `vae/config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Image channels (1 for a mel spectrogram).
    pub in_channels: usize,
    /// Decoded channels.
    pub out_channels: usize,
    /// Latent channels.
    pub latent_channels: usize,
    /// Widths per level; each level but the last halves both axes.
    pub block_out_channels: Vec<usize>,
    /// Resnets per encoder level (decoder levels have one more).
    pub layers_per_block: usize,
    /// Group-norm groups.
    pub norm_num_groups: usize,
    /// Multiplier applied to latents before diffusion (and divided out before decoding).
    pub scaling_factor: f64,
}

impl VaeConfig {
    /// AudioLDM-S's VAE as Tango uses it: 128-256-512, 8 latent channels, 4x down per axis.
    pub fn audioldm() -> Self {
        Self {
            in_channels: 1,
            out_channels: 1,
            latent_channels: 8,
            block_out_channels: vec![128, 256, 512],
            layers_per_block: 2,
            norm_num_groups: 32,
            scaling_factor: 0.9227914214134216,
        }
    }

    /// The embedded default model's VAE: the same structure at a sixteenth of the compute.
    pub fn small() -> Self {
        Self {
            block_out_channels: vec![32, 64, 128],
            layers_per_block: 1,
            ..Self::audioldm()
        }
    }

    /// Read a diffusers `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid JSON: {e}")))?;
        for key in [
            "use_quant_conv",
            "use_post_quant_conv",
            "mid_block_add_attention",
        ] {
            if raw.get(key).is_some_and(|v| v != true) {
                return Err(Error::media(
                    path,
                    format!("unsupported VAE setting {key} = false"),
                ));
            }
        }
        let cfg: Self = serde_json::from_value(raw)
            .map_err(|e| Error::media(path, format!("invalid VAE config: {e}")))?;
        if cfg.block_out_channels.is_empty()
            || cfg.norm_num_groups == 0
            || cfg
                .block_out_channels
                .iter()
                .any(|&c| c == 0 || c % cfg.norm_num_groups != 0)
        {
            return Err(Error::media(
                path,
                "block widths must be positive multiples of a positive group count",
            ));
        }
        Ok(cfg)
    }

    /// Downsampling factor per axis.
    pub fn downsample(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }
}

/// Single-head self-attention over the spatial positions, with its own group norm and a
/// residual (diffusers `Attention` with `group_norm`, the VAE's mid-block attention).
#[derive(Module, Debug)]
pub struct SpatialAttention {
    /// Pre-norm.
    pub group_norm: GroupNorm,
    /// Query projection (with bias).
    pub to_q: Linear,
    /// Key projection.
    pub to_k: Linear,
    /// Value projection.
    pub to_v: Linear,
    /// Output projection (`to_out.0`).
    pub to_out: Linear,
}

impl SpatialAttention {
    fn load(w: &Weights, channels: usize, groups: usize) -> Result<Self> {
        Ok(Self {
            group_norm: GroupNorm::load(&w.pp("group_norm"), groups, channels, EPS)?,
            to_q: Linear::load(&w.pp("to_q"), channels, channels, true)?,
            to_k: Linear::load(&w.pp("to_k"), channels, channels, true)?,
            to_v: Linear::load(&w.pp("to_v"), channels, channels, true)?,
            to_out: Linear::load(&w.pp("to_out").pp(0), channels, channels, true)?,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let tokens = self
            .group_norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let q = split_heads(self.to_q.forward(tokens.clone()), 1);
        let k = split_heads(self.to_k.forward(tokens.clone()), 1);
        let v = split_heads(self.to_v.forward(tokens), 1);
        let out = self.to_out.forward(merge_heads(sdpa(q, k, v, None)));
        out.swap_dims(1, 2).reshape([b, c, h, w]) + x
    }
}

/// `UNetMidBlock2D`: resnet, attention, resnet.
#[derive(Module, Debug)]
pub struct VaeMidBlock {
    /// The two resnets.
    pub resnets: Vec<ResnetBlock2D>,
    /// The attention between them.
    pub attentions: Vec<SpatialAttention>,
}

impl VaeMidBlock {
    fn load(w: &Weights, channels: usize, groups: usize) -> Result<Self> {
        let r = |j: usize| {
            ResnetBlock2D::load(
                &w.pp("resnets").pp(j),
                channels,
                channels,
                None,
                groups,
                EPS,
            )
        };
        Ok(Self {
            resnets: vec![r(0)?, r(1)?],
            attentions: vec![SpatialAttention::load(
                &w.pp("attentions").pp(0),
                channels,
                groups,
            )?],
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.resnets[0].forward(x, None);
        self.resnets[1].forward(self.attentions[0].forward(x), None)
    }
}

/// A level of the encoder (`DownEncoderBlock2D`) or decoder (`UpDecoderBlock2D`).
#[derive(Module, Debug)]
pub struct VaeLevel {
    /// Resnets.
    pub resnets: Vec<ResnetBlock2D>,
    /// `downsamplers.0.conv` (stride 2 after right/bottom padding) or `upsamplers.0.conv`.
    pub resample: Option<Conv2d>,
}

impl VaeLevel {
    /// `layers` resnets from `c_in` to `c` channels, then the level's resampling convolution.
    fn load(
        w: &Weights,
        c_in: usize,
        c: usize,
        layers: usize,
        groups: usize,
        resample: Option<Result<Conv2d>>,
    ) -> Result<Self> {
        let resnets = (0..layers)
            .map(|j| {
                ResnetBlock2D::load(
                    &w.pp("resnets").pp(j),
                    if j == 0 { c_in } else { c },
                    c,
                    None,
                    groups,
                    EPS,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            resnets,
            resample: resample.transpose()?,
        })
    }
}

/// The encoder: image to posterior moments `[B, 2 * latent, T/f, F/f]`.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Image to the first width.
    pub conv_in: Conv2d,
    /// Levels, highest resolution first.
    pub down_blocks: Vec<VaeLevel>,
    /// Bottleneck.
    pub mid_block: VaeMidBlock,
    /// Output norm.
    pub conv_norm_out: GroupNorm,
    /// To mean and log-variance.
    pub conv_out: Conv2d,
}

/// The decoder: latent to image.
#[derive(Module, Debug)]
pub struct Decoder {
    /// Latent to the last width.
    pub conv_in: Conv2d,
    /// Bottleneck.
    pub mid_block: VaeMidBlock,
    /// Levels, lowest resolution first.
    pub up_blocks: Vec<VaeLevel>,
    /// Output norm.
    pub conv_norm_out: GroupNorm,
    /// To image channels.
    pub conv_out: Conv2d,
}

/// The mel VAE.
#[derive(Module, Debug)]
pub struct AutoencoderKL {
    /// Encoder.
    pub encoder: Encoder,
    /// Decoder.
    pub decoder: Decoder,
    /// 1x1 convolution on the moments.
    pub quant_conv: Conv2d,
    /// 1x1 convolution on the latent before decoding.
    pub post_quant_conv: Conv2d,
    scaling_factor: f64,
}

impl AutoencoderKL {
    /// Load from `w`.
    pub fn load(cfg: &VaeConfig, w: &Weights) -> Result<Self> {
        let ch = &cfg.block_out_channels;
        let n = ch.len();
        let (g, z) = (cfg.norm_num_groups, cfg.latent_channels);
        let e = w.pp("encoder");
        let mut down_blocks = Vec::with_capacity(n);
        let mut c_prev = ch[0];
        for (i, &c) in ch.iter().enumerate() {
            let b = e.pp("down_blocks").pp(i);
            let down = (i + 1 < n)
                .then(|| Conv2d::load(&b.pp("downsamplers").pp(0).pp("conv"), c, c, 3, 2, 0));
            down_blocks.push(VaeLevel::load(
                &b,
                c_prev,
                c,
                cfg.layers_per_block,
                g,
                down,
            )?);
            c_prev = c;
        }
        let encoder = Encoder {
            conv_in: Conv2d::load(&e.pp("conv_in"), cfg.in_channels, ch[0], 3, 1, 1)?,
            down_blocks,
            mid_block: VaeMidBlock::load(&e.pp("mid_block"), ch[n - 1], g)?,
            conv_norm_out: GroupNorm::load(&e.pp("conv_norm_out"), g, ch[n - 1], EPS)?,
            conv_out: Conv2d::load(&e.pp("conv_out"), ch[n - 1], 2 * z, 3, 1, 1)?,
        };
        let d = w.pp("decoder");
        let mut up_blocks = Vec::with_capacity(n);
        let mut c_prev = ch[n - 1];
        for i in 0..n {
            let c = ch[n - 1 - i];
            let b = d.pp("up_blocks").pp(i);
            let up = (i + 1 < n)
                .then(|| Conv2d::load(&b.pp("upsamplers").pp(0).pp("conv"), c, c, 3, 1, 1));
            up_blocks.push(VaeLevel::load(
                &b,
                c_prev,
                c,
                cfg.layers_per_block + 1,
                g,
                up,
            )?);
            c_prev = c;
        }
        let decoder = Decoder {
            conv_in: Conv2d::load(&d.pp("conv_in"), z, ch[n - 1], 3, 1, 1)?,
            mid_block: VaeMidBlock::load(&d.pp("mid_block"), ch[n - 1], g)?,
            up_blocks,
            conv_norm_out: GroupNorm::load(&d.pp("conv_norm_out"), g, ch[0], EPS)?,
            conv_out: Conv2d::load(&d.pp("conv_out"), ch[0], cfg.out_channels, 3, 1, 1)?,
        };
        let model = Self {
            encoder,
            decoder,
            quant_conv: Conv2d::load(&w.pp("quant_conv"), 2 * z, 2 * z, 1, 1, 0)?,
            post_quant_conv: Conv2d::load(&w.pp("post_quant_conv"), z, z, 1, 1, 0)?,
            scaling_factor: cfg.scaling_factor,
        };
        w.finish()?;
        Ok(model)
    }

    /// Load a diffusers `vae/` directory.
    pub fn from_dir(dir: &Path, device: &burn::tensor::Device) -> Result<Self> {
        let cfg = VaeConfig::from_file(&super::checkpoint::config_path(dir)?)?;
        let w = Weights::from_files(
            &super::checkpoint::safetensors_files(dir, "diffusion_pytorch_model")?,
            device,
        )?;
        Self::load(&cfg, &w)
    }

    /// The latent scale factor the pipeline applies.
    pub fn scaling_factor(&self) -> f64 {
        self.scaling_factor
    }

    /// Posterior mean and log-variance (clamped to [-30, 20]) of `image` `[B, C, T, F]`.
    pub fn encode(&self, image: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let e = &self.encoder;
        let mut x = e.conv_in.forward(image);
        for level in &e.down_blocks {
            for r in &level.resnets {
                x = r.forward(x, None);
            }
            if let Some(conv) = &level.resample {
                x = conv.forward(x.pad((0, 1, 0, 1), PadMode::Constant(0.0)));
            }
        }
        x = e.mid_block.forward(x);
        let moments = self
            .quant_conv
            .forward(e.conv_out.forward(e.conv_norm_out.forward_silu(x)));
        let mut halves = moments.chunk(2, 1);
        let logvar = halves.pop().expect("two halves").clamp(-30.0, 20.0);
        let mean = halves.pop().expect("two halves");
        (mean, logvar)
    }

    /// Decode an (unscaled) latent to an image.
    pub fn decode(&self, latent: Tensor<4>) -> Tensor<4> {
        let d = &self.decoder;
        let mut x = d.conv_in.forward(self.post_quant_conv.forward(latent));
        x = d.mid_block.forward(x);
        for level in &d.up_blocks {
            for r in &level.resnets {
                x = r.forward(x, None);
            }
            if let Some(conv) = &level.resample {
                x = conv.forward(upsample_nearest2x(x));
            }
        }
        d.conv_out.forward(d.conv_norm_out.forward_silu(x))
    }
}
