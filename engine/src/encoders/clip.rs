//! CLIP image encoder ("Learning Transferable Visual Models From Natural Language
//! Supervision", Radford et al. 2021): a Vision Transformer ("An Image is Worth 16x16 Words",
//! Dosovitskiy et al. 2021) whose pooled class token is projected into the joint image-text
//! space. The frame encoder of the default model (OpenCLIP ViT-H/14, LAION-2B).
//!
//! One implementation reads both published key layouts, chosen by the keys present:
//! transformers' `CLIPVisionModelWithProjection` / `CLIPModel` (`vision_model.*`,
//! `visual_projection`) and OpenCLIP's (`visual.*`: fused `in_proj_weight` = q | k | v rows,
//! `proj` applied as `x @ proj`). Patches are embedded by a strided convolution without bias,
//! a class token and learned positions are added, then `ln_pre`, pre-norm blocks, and the class
//! token through `ln_post` and the projection.

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};
use serde::Deserialize;

use super::clip_preprocess::{ClipPreprocess, RgbImage};
use crate::error::{Error, Result};
use crate::models::nn::{LayerNorm, Linear, gelu, quick_gelu};
use crate::models::unet::attention::{merge_heads, sdpa, split_heads};
use crate::models::weights::{Init, Weights};

/// The MLP activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ClipActivation {
    /// Exact (erf) GELU: OpenCLIP models such as ViT-H/14.
    #[serde(rename = "gelu")]
    Gelu,
    /// `x * sigmoid(1.702 x)`: OpenAI's CLIP weights.
    #[serde(rename = "quick_gelu")]
    QuickGelu,
}

impl ClipActivation {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Gelu => gelu(x),
            Self::QuickGelu => quick_gelu(x),
        }
    }
}

/// The vision tower's configuration (transformers' `CLIPVisionConfig` field names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClipVisionConfig {
    /// Input side in pixels (square).
    pub image_size: usize,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// Transformer width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Transformer blocks.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Width of the image embedding (the projection's output).
    pub projection_dim: usize,
    /// MLP activation.
    #[serde(default = "quick")]
    pub hidden_act: ClipActivation,
    /// Layer-norm epsilon.
    #[serde(default = "clip_eps")]
    pub layer_norm_eps: f64,
    /// Input channels.
    #[serde(default = "three")]
    pub num_channels: usize,
}

fn quick() -> ClipActivation {
    ClipActivation::QuickGelu
}
fn clip_eps() -> f64 {
    1e-5
}
fn three() -> usize {
    3
}

impl ClipVisionConfig {
    /// OpenCLIP ViT-H/14 (laion2b_s32b_b79k): 224 px, patch 14, width 1280, 32 blocks of 16
    /// heads, MLP 5120, embedding 1024, GELU.
    pub fn vit_h_14() -> Self {
        Self {
            image_size: 224,
            patch_size: 14,
            hidden_size: 1280,
            intermediate_size: 5120,
            num_hidden_layers: 32,
            num_attention_heads: 16,
            projection_dim: 1024,
            hidden_act: ClipActivation::Gelu,
            layer_norm_eps: 1e-5,
            num_channels: 3,
        }
    }

    /// Read a transformers `config.json`: a `CLIPVisionConfig` (as `CLIPVisionModelWithProjection`
    /// saves it) or a full `CLIPConfig` (its `vision_config`, with the top-level
    /// `projection_dim`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let invalid =
            |e: serde_json::Error| Error::media(path, format!("invalid CLIP config: {e}"));
        let mut json: serde_json::Value = serde_json::from_str(&text).map_err(invalid)?;
        if let Some(vision) = json.get("vision_config").cloned() {
            let mut vision = vision;
            if vision.get("projection_dim").is_none()
                && let (Some(obj), Some(dim)) = (vision.as_object_mut(), json.get("projection_dim"))
            {
                obj.insert("projection_dim".into(), dim.clone());
            }
            json = vision;
        }
        let cfg: Self = serde_json::from_value(json).map_err(invalid)?;
        cfg.validate().map_err(|m| Error::media(path, m))?;
        Ok(cfg)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.patch_size == 0 || self.image_size % self.patch_size != 0 {
            return Err("image size is not a multiple of the patch size".into());
        }
        if self.num_attention_heads == 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err("hidden size does not divide into the heads".into());
        }
        Ok(())
    }

    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}

/// Which checkpoint naming the weights use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipKeys {
    /// transformers: `vision_model.*` and `visual_projection.weight`.
    Transformers,
    /// OpenCLIP: `visual.*`.
    OpenClip,
}

impl ClipKeys {
    /// The layout of `w`'s keys (OpenCLIP if `visual.conv1.weight` is present).
    pub fn detect(w: &Weights) -> Self {
        if w.contains("visual.conv1.weight") {
            Self::OpenClip
        } else {
            Self::Transformers
        }
    }
}

/// One pre-norm transformer block (`encoder.layers.N` / `transformer.resblocks.N`).
#[derive(Module, Debug)]
pub struct ClipLayer {
    /// `layer_norm1` / `ln_1`.
    pub layer_norm1: LayerNorm,
    /// `self_attn.q_proj` / rows `0..W` of `attn.in_proj_*`.
    pub q_proj: Linear,
    /// `self_attn.k_proj` / rows `W..2W` of `attn.in_proj_*`.
    pub k_proj: Linear,
    /// `self_attn.v_proj` / rows `2W..3W` of `attn.in_proj_*`.
    pub v_proj: Linear,
    /// `self_attn.out_proj` / `attn.out_proj`.
    pub out_proj: Linear,
    /// `layer_norm2` / `ln_2`.
    pub layer_norm2: LayerNorm,
    /// `mlp.fc1` / `mlp.c_fc`.
    pub fc1: Linear,
    /// `mlp.fc2` / `mlp.c_proj`.
    pub fc2: Linear,
    heads: usize,
    #[module(skip)]
    act: ClipActivation,
}

impl ClipLayer {
    /// Load an OpenAI/OpenCLIP residual block (`ln_1`, `attn.{in_proj_weight, in_proj_bias,
    /// out_proj}`, `ln_2`, `mlp.{c_fc, c_proj}`): the layout ViCLIP shares.
    pub fn load_openclip(
        w: &Weights,
        width: usize,
        mlp: usize,
        heads: usize,
        eps: f64,
        act: ClipActivation,
    ) -> Result<Self> {
        let a = w.pp("attn");
        let [q_proj, k_proj, v_proj] = fused_qkv(&a, width)?;
        Ok(Self {
            layer_norm1: LayerNorm::load(&w.pp("ln_1"), width, eps)?,
            q_proj,
            k_proj,
            v_proj,
            out_proj: Linear::load(&a.pp("out_proj"), width, width, true)?,
            layer_norm2: LayerNorm::load(&w.pp("ln_2"), width, eps)?,
            fc1: Linear::load(&w.pp("mlp").pp("c_fc"), width, mlp, true)?,
            fc2: Linear::load(&w.pp("mlp").pp("c_proj"), mlp, width, true)?,
            heads,
            act,
        })
    }

    fn load_transformers(w: &Weights, c: &ClipVisionConfig) -> Result<Self> {
        let (d, m, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        let a = w.pp("self_attn");
        Ok(Self {
            layer_norm1: LayerNorm::load(&w.pp("layer_norm1"), d, eps)?,
            q_proj: Linear::load(&a.pp("q_proj"), d, d, true)?,
            k_proj: Linear::load(&a.pp("k_proj"), d, d, true)?,
            v_proj: Linear::load(&a.pp("v_proj"), d, d, true)?,
            out_proj: Linear::load(&a.pp("out_proj"), d, d, true)?,
            layer_norm2: LayerNorm::load(&w.pp("layer_norm2"), d, eps)?,
            fc1: Linear::load(&w.pp("mlp").pp("fc1"), d, m, true)?,
            fc2: Linear::load(&w.pp("mlp").pp("fc2"), m, d, true)?,
            heads: c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    /// `x + out(MHA(ln1 x))`, then `x + fc2(act(fc1(ln2 x)))`; no mask, scale `d^-0.5`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = self.layer_norm1.forward(x.clone());
        let q = split_heads(self.q_proj.forward(h.clone()), self.heads);
        let k = split_heads(self.k_proj.forward(h.clone()), self.heads);
        let v = split_heads(self.v_proj.forward(h), self.heads);
        let x = x + self.out_proj.forward(merge_heads(sdpa(q, k, v, None)));
        let h = self.layer_norm2.forward(x.clone());
        x + self.fc2.forward(self.act.apply(self.fc1.forward(h)))
    }
}

/// PyTorch `nn.MultiheadAttention`'s fused `in_proj_weight` `[3W, W]` / `in_proj_bias` `[3W]`
/// split into the q, k and v projections.
fn fused_qkv(w: &Weights, width: usize) -> Result<[Linear; 3]> {
    let weight = w.get("in_proj_weight", [3 * width, width], Init::FanIn(width))?;
    let bias = w.get("in_proj_bias", [3 * width], Init::Zeros)?;
    Ok([0, 1, 2].map(|i| Linear {
        weight: Param::from_tensor(weight.clone().narrow(0, i * width, width).transpose()),
        bias: Some(Param::from_tensor(bias.clone().narrow(0, i * width, width))),
    }))
}

/// What the vision tower returns.
#[derive(Debug, Clone)]
pub struct ClipVisionOutput {
    /// Tokens after the last block, `[B, 1 + N, W]` (class token first, then the patches
    /// row-major), without the final norm (transformers' `last_hidden_state`).
    pub last_hidden_state: Tensor<3>,
    /// `ln_post` of the class token, `[B, W]`.
    pub pooled: Tensor<2>,
    /// The projected image embedding, `[B, projection_dim]`, not normalised.
    pub image_embeds: Tensor<2>,
}

/// The CLIP vision tower with its projection.
#[derive(Module, Debug)]
pub struct ClipVision {
    /// `embeddings.patch_embedding` / `conv1`: `[W, C, p, p]`, no bias.
    pub patch_embedding: Param<Tensor<4>>,
    /// `embeddings.class_embedding` / `class_embedding`: `[W]`.
    pub class_embedding: Param<Tensor<1>>,
    /// `embeddings.position_embedding` / `positional_embedding`: `[1 + N, W]`.
    pub position_embedding: Param<Tensor<2>>,
    /// `pre_layrnorm` / `ln_pre`.
    pub pre_layernorm: LayerNorm,
    /// `encoder.layers.N` / `transformer.resblocks.N`.
    pub layers: Vec<ClipLayer>,
    /// `post_layernorm` / `ln_post`.
    pub post_layernorm: LayerNorm,
    /// `visual_projection` / `proj` (no bias).
    pub projection: Linear,
    patch_size: usize,
    image_size: usize,
}

impl ClipVision {
    /// Load from `w` in whichever layout its keys use. Other parts of a full CLIP checkpoint
    /// (the text tower, `logit_scale`) are left unread; unknown keys of the vision tower are
    /// an error.
    pub fn load(cfg: &ClipVisionConfig, w: &Weights) -> Result<Self> {
        cfg.validate().map_err(Error::invalid)?;
        match ClipKeys::detect(w) {
            ClipKeys::OpenClip => Self::load_openclip(cfg, &w.pp("visual")),
            ClipKeys::Transformers => Self::load_transformers(cfg, w),
        }
    }

    fn load_transformers(c: &ClipVisionConfig, w: &Weights) -> Result<Self> {
        let (d, p, eps) = (c.hidden_size, c.patch_size, c.layer_norm_eps);
        let v = w.pp("vision_model");
        let e = v.pp("embeddings");
        let model = Self {
            patch_embedding: Param::from_tensor(e.pp("patch_embedding").get(
                "weight",
                [d, c.num_channels, p, p],
                Init::FanIn(c.num_channels * p * p),
            )?),
            class_embedding: Param::from_tensor(e.get(
                "class_embedding",
                [d],
                Init::Normal(1.0),
            )?),
            position_embedding: Param::from_tensor(e.pp("position_embedding").get(
                "weight",
                [c.grid() * c.grid() + 1, d],
                Init::Normal(0.02),
            )?),
            pre_layernorm: LayerNorm::load(&v.pp("pre_layrnorm"), d, eps)?,
            layers: (0..c.num_hidden_layers)
                .map(|i| ClipLayer::load_transformers(&v.pp("encoder").pp("layers").pp(i), c))
                .collect::<Result<Vec<_>>>()?,
            post_layernorm: LayerNorm::load(&v.pp("post_layernorm"), d, eps)?,
            projection: Linear::load(&w.pp("visual_projection"), d, c.projection_dim, false)?,
            patch_size: p,
            image_size: c.image_size,
        };
        v.finish_except(&["embeddings.position_ids"])?;
        w.finish_except(&[
            "vision_model.",
            "text_model.",
            "text_projection.",
            "logit_scale",
        ])?;
        Ok(model)
    }

    fn load_openclip(c: &ClipVisionConfig, v: &Weights) -> Result<Self> {
        let (d, p, eps) = (c.hidden_size, c.patch_size, c.layer_norm_eps);
        // `proj` is `[W, E]`, already the transposed layout `Linear` keeps.
        let proj = v.get("proj", [d, c.projection_dim], Init::FanIn(d))?;
        let model = Self {
            patch_embedding: Param::from_tensor(v.pp("conv1").get(
                "weight",
                [d, c.num_channels, p, p],
                Init::FanIn(c.num_channels * p * p),
            )?),
            class_embedding: Param::from_tensor(v.get(
                "class_embedding",
                [d],
                Init::Normal(1.0),
            )?),
            position_embedding: Param::from_tensor(v.get(
                "positional_embedding",
                [c.grid() * c.grid() + 1, d],
                Init::Normal(0.02),
            )?),
            pre_layernorm: LayerNorm::load(&v.pp("ln_pre"), d, eps)?,
            layers: (0..c.num_hidden_layers)
                .map(|i| {
                    ClipLayer::load_openclip(
                        &v.pp("transformer").pp("resblocks").pp(i),
                        d,
                        c.intermediate_size,
                        c.num_attention_heads,
                        eps,
                        c.hidden_act,
                    )
                })
                .collect::<Result<Vec<_>>>()?,
            post_layernorm: LayerNorm::load(&v.pp("ln_post"), d, eps)?,
            projection: Linear {
                weight: Param::from_tensor(proj),
                bias: None,
            },
            patch_size: p,
            image_size: c.image_size,
        };
        v.finish()?;
        Ok(model)
    }

    /// Input side in pixels.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// Width of the image embedding.
    pub fn embed_dim(&self) -> usize {
        self.projection.weight.dims()[1]
    }

    /// Encode normalised pixels `[B, C, S, S]` (see `clip_preprocess`). An empty batch or a
    /// size other than the model's is an [`Error::InvalidInput`].
    pub fn forward(&self, pixels: Tensor<4>) -> Result<ClipVisionOutput> {
        let [b, c, h, w] = pixels.dims();
        let channels = self.patch_embedding.dims()[1];
        if b == 0 {
            return Err(Error::invalid("no images to encode"));
        }
        if c != channels || h != self.image_size || w != self.image_size {
            return Err(Error::invalid(format!(
                "images are {c} x {h} x {w}, the image encoder expects {channels} x {s} x {s}",
                s = self.image_size
            )));
        }
        let x = self.embed(pixels);
        let x = self.pre_layernorm.forward(x);
        let x = self.layers.iter().fold(x, |x, layer| layer.forward(x));
        let [_, _, d] = x.dims();
        let cls = x.clone().narrow(1, 0, 1).reshape([b, d]);
        let pooled = self.post_layernorm.forward(cls);
        let image_embeds = self.projection.forward(pooled.clone());
        Ok(ClipVisionOutput {
            last_hidden_state: x,
            pooled,
            image_embeds,
        })
    }

    /// `[class ; patches row-major] + positions`: `[B, 1 + N, W]`.
    fn embed(&self, pixels: Tensor<4>) -> Tensor<3> {
        let b = pixels.dims()[0];
        let opts = ConvOptions::new([self.patch_size; 2], [0, 0], [1, 1], 1);
        let patches = conv2d(pixels, self.patch_embedding.val(), None, opts);
        let [_, d, gh, gw] = patches.dims();
        let patches = patches.reshape([b, d, gh * gw]).swap_dims(1, 2);
        let cls = self
            .class_embedding
            .val()
            .reshape([1, 1, d])
            .expand([b, 1, d]);
        Tensor::cat(vec![cls, patches], 1) + self.position_embedding.val().unsqueeze::<3>()
    }
}

/// The image encoder with its preprocessing: RGB8 pictures in, image embeddings out.
pub struct ClipImageEncoder {
    /// The vision tower.
    pub vision: ClipVision,
    /// OpenCLIP's evaluation preprocessing at the tower's input size.
    pub preprocess: ClipPreprocess,
    device: Device,
}

impl ClipImageEncoder {
    /// Load `cfg`'s tower from safetensors `files` (either key layout) with OpenAI CLIP's
    /// normalisation (what OpenCLIP's ViT-H/14 uses).
    pub fn from_files(cfg: &ClipVisionConfig, files: &[PathBuf], device: &Device) -> Result<Self> {
        let vision = ClipVision::load(cfg, &Weights::from_files(files, device)?)?;
        Ok(Self {
            preprocess: ClipPreprocess::openai(vision.image_size()),
            vision,
            device: device.clone(),
        })
    }

    /// Embeddings `[B, projection_dim]` (not normalised) of `images`; an empty batch or an
    /// empty image is an [`Error::InvalidInput`].
    pub fn encode(&self, images: &[RgbImage<'_>]) -> Result<Tensor<2>> {
        let pixels = self.preprocess.batch(images, &self.device)?;
        Ok(self.vision.forward(pixels)?.image_embeds)
    }
}
