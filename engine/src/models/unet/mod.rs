//! `UNet2DConditionModel` as Tango-2 uses it (diffusers' module tree and key names, so a real
//! `unet/diffusion_pytorch_model.safetensors` loads unchanged), with the AvSync adapters in
//! every transformer block when an adapter checkpoint is given.

pub mod attention;
pub mod blocks;
pub mod config;
pub mod embeddings;
pub mod projected;
pub mod transformer;

use std::cell::Cell;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;

use self::blocks::{BlockContext, DownBlock, MidBlock, UpBlock, UpWidths};
pub use self::config::{BlockKind, UNetConfig};
use self::embeddings::{TimestepEmbedding, timestep_features};
pub use self::projected::ProjectedConditions;
use self::transformer::Transformer2D;
use super::adapters::{
    AdapterConfig, AdapterScales, ConditionInputs, ConditionProjections, Conditions,
};
use super::nn::{Conv2d, GroupNorm};
use super::weights::{StateDict, Weights, save_safetensors};
use crate::error::{Error, Result};

/// The denoising network.
#[derive(Module, Debug)]
pub struct UNet2DConditionModel {
    /// Timestep MLP.
    pub time_embedding: TimestepEmbedding,
    /// Latent to the first level's width.
    pub conv_in: Conv2d,
    /// Down path, highest resolution first.
    pub down_blocks: Vec<DownBlock>,
    /// Bottleneck.
    pub mid_block: MidBlock,
    /// Up path, lowest resolution first.
    pub up_blocks: Vec<UpBlock>,
    /// Output norm.
    pub conv_norm_out: GroupNorm,
    /// Back to latent channels.
    pub conv_out: Conv2d,
    /// AvSync condition projections (adapted models only).
    pub conditions: Option<ConditionProjections>,
    time_features: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
}

impl UNet2DConditionModel {
    /// Build from `config`, reading the backbone from `w` and, when given, the AvSync adapters
    /// from `adapter`.
    pub fn load(
        config: &UNetConfig,
        w: &Weights,
        adapter: Option<(&Weights, &AdapterConfig)>,
    ) -> Result<Self> {
        config.validate().map_err(Error::invalid)?;
        if !config.use_linear_projection {
            return Err(Error::invalid(
                "only transformers with linear projections are supported",
            ));
        }
        if let Some((_, a)) = adapter
            && a.cross_attention_dim != config.cross_attention_dim
        {
            return Err(Error::invalid(format!(
                "adapter width {} does not match the U-Net's cross-attention width {}",
                a.cross_attention_dim, config.cross_attention_dim
            )));
        }
        let ch = &config.block_out_channels;
        let n = ch.len();
        let temb = config.time_embed_dim();
        let transformers = Cell::new(0);
        let ctx = BlockContext {
            temb,
            groups: config.norm_num_groups,
            eps: config.norm_eps,
            cross: config.cross_attention_dim,
            adapter,
            transformers: &transformers,
        };
        let mut down_blocks = Vec::with_capacity(n);
        let mut c_prev = ch[0];
        for (i, kind) in config.down_block_types.iter().enumerate() {
            let path = format!("down_blocks.{i}");
            let heads = kind.has_attention().then(|| config.heads(i));
            let down = (i + 1 < n).then_some(config.downsample_padding);
            down_blocks.push(DownBlock::load(
                &w.pp(&path),
                &path,
                &ctx,
                c_prev,
                ch[i],
                config.layers_per_block,
                heads,
                down,
            )?);
            c_prev = ch[i];
        }
        let mid_block = MidBlock::load(&w.pp("mid_block"), &ctx, ch[n - 1], config.heads(n - 1))?;
        let mut up_blocks = Vec::with_capacity(n);
        let mut prev_out = ch[n - 1];
        for (i, kind) in config.up_block_types.iter().enumerate() {
            let level = n - 1 - i;
            let path = format!("up_blocks.{i}");
            let widths = UpWidths {
                prev_out,
                out: ch[level],
                skip_in: ch[level.saturating_sub(1)],
            };
            let heads = kind.has_attention().then(|| config.heads(level));
            up_blocks.push(UpBlock::load(
                &w.pp(&path),
                &path,
                &ctx,
                widths,
                config.layers_per_block + 1,
                heads,
                i + 1 < n,
            )?);
            prev_out = ch[level];
        }
        let conditions = adapter
            .map(|(a, cfg)| ConditionProjections::load(a, cfg))
            .transpose()?;
        let model = Self {
            time_embedding: TimestepEmbedding::load(&w.pp("time_embedding"), ch[0], temb)?,
            conv_in: Conv2d::load(&w.pp("conv_in"), config.in_channels, ch[0], 3, 1, 1)?,
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out: GroupNorm::load(
                &w.pp("conv_norm_out"),
                config.norm_num_groups,
                ch[0],
                config.norm_eps,
            )?,
            conv_out: Conv2d::load(&w.pp("conv_out"), ch[0], config.out_channels, 3, 1, 1)?,
            conditions,
            time_features: ch[0],
            flip_sin_to_cos: config.flip_sin_to_cos,
            freq_shift: config.freq_shift,
        };
        w.finish()?;
        if let Some((a, _)) = adapter {
            a.finish()?;
        }
        Ok(model)
    }

    /// Load a diffusers `unet/` directory (`config.json` + `diffusion_pytorch_model.safetensors`,
    /// or its sharded or fp16 variants) and, optionally, an adapter directory
    /// (`adapter_config.json` + `adapter.safetensors`).
    pub fn from_dir(
        unet_dir: &Path,
        adapter_dir: Option<&Path>,
        device: &burn::tensor::Device,
    ) -> Result<Self> {
        let config = UNetConfig::from_file(&super::checkpoint::config_path(unet_dir)?)?;
        let w = Weights::from_files(
            &super::checkpoint::safetensors_files(unet_dir, "diffusion_pytorch_model")?,
            device,
        )?;
        match adapter_dir {
            None => Self::load(&config, &w, None),
            Some(dir) => {
                let cfg = AdapterConfig::from_file(&dir.join("adapter_config.json"))?;
                let a = Weights::from_files(&[dir.join("adapter.safetensors")], device)?;
                Self::load(&config, &w, Some((&a, &cfg)))
            }
        }
    }

    /// The AvSync adapter weights (projections and every block's adapter layers) under their
    /// checkpoint names; empty for a plain backbone.
    pub fn adapter_state(&self) -> StateDict {
        let mut state = StateDict::new();
        let Some(p) = &self.conditions else {
            return state;
        };
        p.save(&mut state);
        let mut blocks = |path: String, attentions: &[transformer::Transformer2D]| {
            for (j, t) in attentions.iter().enumerate() {
                for (k, b) in t.transformer_blocks.iter().enumerate() {
                    b.save_adapter(
                        &format!("{path}.attentions.{j}.transformer_blocks.{k}"),
                        &mut state,
                    );
                }
            }
        };
        for (i, d) in self.down_blocks.iter().enumerate() {
            blocks(format!("down_blocks.{i}"), &d.attentions);
        }
        blocks("mid_block".into(), &self.mid_block.attentions);
        for (i, u) in self.up_blocks.iter().enumerate() {
            blocks(format!("up_blocks.{i}"), &u.attentions);
        }
        state
    }

    /// Write the adapter weights to `dir` (`adapter.safetensors` + `adapter_config.json`).
    pub fn save_adapter(&self, dir: &Path, config: &AdapterConfig) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        save_safetensors(&dir.join("adapter.safetensors"), &self.adapter_state())?;
        let json = serde_json::to_vec_pretty(config).map_err(|e| Error::invalid(e.to_string()))?;
        crate::media::output::write_atomic(&dir.join("adapter_config.json"), |w| {
            w.write_all(&json)
        })?;
        Ok(())
    }

    /// Project raw conditions into the tokens the blocks attend to.
    pub fn conditions(
        &self,
        text: Tensor<3>,
        text_mask: Option<Tensor<2>>,
        inputs: &ConditionInputs,
        scales: AdapterScales,
    ) -> Conditions {
        let mut cond = Conditions::text(text, text_mask);
        if let Some(p) = &self.conditions {
            cond.video = inputs.video.clone().map(|v| p.video_proj.forward(v));
            cond.frames = inputs.frames.clone().map(|f| p.frame_proj.forward(f));
            cond.audio = inputs.audio.clone().map(|a| p.audio_proj.forward(a));
            cond.scales = scales;
        }
        cond
    }

    /// The timestep embedding of `t` (`[B]`).
    pub fn time_embed(&self, t: Tensor<1>) -> Tensor<2> {
        let features =
            timestep_features(t, self.time_features, self.flip_sin_to_cos, self.freq_shift);
        self.time_embedding.forward(features)
    }

    /// Every transformer, down path to up path.
    fn transformers(&self) -> impl Iterator<Item = &Transformer2D> {
        let down = self.down_blocks.iter().flat_map(|b| &b.attentions);
        let up = self.up_blocks.iter().flat_map(|b| &b.attentions);
        down.chain(&self.mid_block.attentions).chain(up)
    }

    /// Project `cond` to every transformer block's keys and values, once for all the steps
    /// and candidates that share it.
    pub fn project(&self, cond: &Conditions) -> ProjectedConditions {
        let mut blocks: Vec<_> = self
            .transformers()
            .map(|t| (t.slot(), t.memory(cond)))
            .collect();
        blocks.sort_unstable_by_key(|(slot, _)| *slot);
        ProjectedConditions {
            blocks: blocks.into_iter().map(|(_, memory)| memory).collect(),
            text_bias: cond.text_bias.clone(),
            scales: cond.scales,
        }
    }

    /// Predict from the noisy latent `sample` (`[B, C, T, F]`) at timesteps `t` (`[B]`).
    pub fn forward(&self, sample: Tensor<4>, t: Tensor<1>, cond: &Conditions) -> Tensor<4> {
        self.forward_projected(sample, t, &self.project(cond))
    }

    /// [`forward`](Self::forward) with the conditions already projected.
    pub fn forward_projected(
        &self,
        sample: Tensor<4>,
        t: Tensor<1>,
        cond: &ProjectedConditions,
    ) -> Tensor<4> {
        let temb = self.time_embed(t);
        let mut x = self.conv_in.forward(sample);
        let mut skips = vec![x.clone()];
        for block in &self.down_blocks {
            x = block.forward(x, &temb, cond, &mut skips);
        }
        x = self.mid_block.forward(x, &temb, cond);
        for block in &self.up_blocks {
            x = block.forward(x, &temb, cond, &mut skips);
        }
        self.conv_out.forward(self.conv_norm_out.forward_silu(x))
    }
}
