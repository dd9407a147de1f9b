//! New model directories with freshly initialised networks: the starting point of training,
//! and the tiny random models the pipeline is tested and benchmarked with. Both use the
//! default tier's encoders (bundled MiniLM, motion features, pooled log-mel references), so
//! they need no other weights.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Serialize;

use super::model::{FrameSpec, MANIFEST, ModelManifest, ReferenceSpec, TextSpec, VideoSpec};
use crate::error::{Error, Result};
use crate::features::track::{MotionTokens, MotionTrack};
use crate::media::output::write_atomic;
use crate::models::adapters::AdapterConfig;
use crate::models::unet::{BlockKind, UNet2DConditionModel, UNetConfig};
use crate::models::vae::{AutoencoderKL, VaeConfig};
use crate::models::vocoder::{HifiGan, VocoderConfig};
use crate::models::weights::{Weights, save_safetensors};
use crate::schedule::ScheduleConfig;

/// Width of MiniLM's token states.
const MINILM_WIDTH: usize = 384;
/// Motion grid side of the default tier.
const GRID: usize = 4;

/// Sizes of a new model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A few hundred thousand parameters over 2.56 s windows: tests and benchmarks of the
    /// pipeline itself.
    Tiny,
    /// The default tier's architecture over 10.24 s windows.
    Small,
    /// The embedded default model: the same structure sized for training and running on a
    /// laptop CPU (2.56 s windows with 32 frame tokens, U-Net widths 32-64-128-128, VAE
    /// 16-32-64).
    Compact,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "tiny" => Ok(Self::Tiny),
            "small" => Ok(Self::Small),
            "compact" => Ok(Self::Compact),
            other => Err(format!("unknown preset `{other}` (tiny, small, compact)")),
        }
    }
}

struct Parts {
    window_seconds: f64,
    frames: usize,
    unet: UNetConfig,
    vae: VaeConfig,
    vocoder: VocoderConfig,
}

fn parts(preset: Preset) -> Parts {
    match preset {
        Preset::Tiny => Parts {
            window_seconds: 2.56,
            frames: 16,
            unet: UNetConfig {
                block_out_channels: vec![16, 32],
                down_block_types: vec![BlockKind::CrossAttnDownBlock2D, BlockKind::DownBlock2D],
                up_block_types: vec![BlockKind::UpBlock2D, BlockKind::CrossAttnUpBlock2D],
                layers_per_block: 1,
                attention_head_dim: vec![2, 2],
                cross_attention_dim: MINILM_WIDTH,
                norm_num_groups: 8,
                ..UNetConfig::tango2()
            },
            vae: VaeConfig {
                block_out_channels: vec![8, 16, 16],
                layers_per_block: 1,
                norm_num_groups: 4,
                ..VaeConfig::audioldm()
            },
            vocoder: VocoderConfig {
                upsample_initial_channel: 16,
                upsample_rates: vec![5, 4, 2, 4],
                upsample_kernel_sizes: vec![10, 8, 4, 8],
                resblock_kernel_sizes: vec![3],
                resblock_dilation_sizes: vec![vec![1, 3]],
                ..VocoderConfig::audioldm()
            },
        },
        Preset::Compact => Parts {
            window_seconds: 2.56,
            frames: 32,
            unet: UNetConfig {
                block_out_channels: vec![32, 64, 128, 128],
                attention_head_dim: vec![1, 2, 4, 4],
                norm_num_groups: 16,
                ..UNetConfig::small()
            },
            vae: VaeConfig {
                block_out_channels: vec![16, 32, 64],
                norm_num_groups: 8,
                ..VaeConfig::small()
            },
            vocoder: VocoderConfig::small(),
        },
        Preset::Small => Parts {
            window_seconds: 10.24,
            frames: 64,
            unet: UNetConfig::small(),
            vae: VaeConfig::small(),
            vocoder: VocoderConfig::small(),
        },
    }
}

/// Write `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| Error::invalid(e.to_string()))?;
    write_atomic(path, |w| w.write_all(&json))?;
    Ok(())
}

fn create(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    Ok(dir.to_path_buf())
}

/// A new model's parts: network configurations, window and condition encoders.
pub struct ModelSpec {
    /// Display name.
    pub name: String,
    /// Seconds per window.
    pub window_seconds: f64,
    /// U-Net.
    pub unet: UNetConfig,
    /// VAE.
    pub vae: VaeConfig,
    /// Vocoder.
    pub vocoder: VocoderConfig,
    /// Adapter input widths.
    pub adapter: AdapterConfig,
    /// Text encoder.
    pub text: TextSpec,
    /// Frame features.
    pub frames: FrameSpec,
    /// Video feature.
    pub video: VideoSpec,
    /// Reference tokens.
    pub reference: ReferenceSpec,
}

impl ModelSpec {
    /// The default tier's spec at the sizes of `preset`.
    pub fn preset(preset: Preset, name: &str) -> Self {
        let p = parts(preset);
        Self {
            name: name.to_string(),
            window_seconds: p.window_seconds,
            adapter: AdapterConfig {
                d_video: MotionTrack::video_vector_width(GRID),
                num_video_tokens: 4,
                d_frame: MotionTokens::Events.width(GRID),
                d_audio: 64,
                cross_attention_dim: p.unet.cross_attention_dim,
                rope_theta: 10_000.0,
            },
            unet: p.unet,
            vae: p.vae,
            vocoder: p.vocoder,
            text: TextSpec::Minilm { path: None },
            frames: FrameSpec::Events {
                count: p.frames,
                grid: GRID,
            },
            video: VideoSpec::Motion { grid: GRID },
            reference: ReferenceSpec::Mel {
                token_seconds: 0.16,
            },
        }
    }
}

/// Write a new model of `preset` with fresh weights into `dir` (created if needed; an
/// existing model there is refused, so trained weights are never overwritten by accident).
pub fn init_model_dir(preset: Preset, name: &str, dir: &Path, device: &Device) -> Result<()> {
    write_fresh_model(&ModelSpec::preset(preset, name), dir, device)
}

/// Write a model with fresh generator weights for `spec` into `dir` (refused where a model
/// exists). The encoders are referenced, not written.
pub fn write_fresh_model(spec: &ModelSpec, dir: &Path, device: &Device) -> Result<()> {
    if dir.join(MANIFEST).exists() {
        return Err(Error::media(dir, "already holds a model"));
    }
    let (wb, wa) = (Weights::fresh(device), Weights::fresh(device));
    let unet = UNet2DConditionModel::load(&spec.unet, &wb, Some((&wa, &spec.adapter)))?;
    let unet_dir = create(&dir.join("unet"))?;
    write_json(&unet_dir.join("config.json"), &spec.unet)?;
    save_safetensors(
        &unet_dir.join("diffusion_pytorch_model.safetensors"),
        &wb.param_names().state_of(&unet),
    )?;
    let adapter_dir = create(&dir.join("adapter"))?;
    write_json(&adapter_dir.join("adapter_config.json"), &spec.adapter)?;
    save_safetensors(
        &adapter_dir.join("adapter.safetensors"),
        &wa.param_names().state_of(&unet),
    )?;
    drop(unet);

    let wv = Weights::fresh(device);
    let vae = AutoencoderKL::load(&spec.vae, &wv)?;
    let vae_dir = create(&dir.join("vae"))?;
    write_json(&vae_dir.join("config.json"), &spec.vae)?;
    save_safetensors(
        &vae_dir.join("diffusion_pytorch_model.safetensors"),
        &wv.param_names().state_of(&vae),
    )?;

    let wo = Weights::fresh(device);
    let vocoder = HifiGan::load(&spec.vocoder, &wo)?;
    let voc_dir = create(&dir.join("vocoder"))?;
    write_json(&voc_dir.join("config.json"), &spec.vocoder)?;
    save_safetensors(
        &voc_dir.join("model.safetensors"),
        &wo.param_names().state_of(&vocoder),
    )?;

    let sched_dir = create(&dir.join("scheduler"))?;
    write_json(
        &sched_dir.join("scheduler_config.json"),
        &ScheduleConfig::tango2(),
    )?;

    let manifest = ModelManifest {
        name: spec.name.clone(),
        window_seconds: spec.window_seconds,
        unet: "unet".into(),
        vae: "vae".into(),
        vocoder: "vocoder".into(),
        vocoding: Default::default(),
        scheduler: "scheduler".into(),
        adapter: Some("adapter".into()),
        text: spec.text.clone(),
        frames: spec.frames.clone(),
        video: spec.video.clone(),
        reference: spec.reference.clone(),
        heads: None,
    };
    write_json(&dir.join(MANIFEST), &manifest)
}

/// The tiny preset's networks (for full-tier tests that swap in other encoders).
pub fn tiny_networks() -> (UNetConfig, VaeConfig, VocoderConfig) {
    let p = parts(Preset::Tiny);
    (p.unet, p.vae, p.vocoder)
}
