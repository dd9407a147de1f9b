//! The U-Net's configuration, parsed from a diffusers `unet/config.json`, with the Tango-2
//! preset and the small preset of the embedded default model.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A down or up block kind, as diffusers names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    /// Resnets with a transformer after each, then a downsampler.
    CrossAttnDownBlock2D,
    /// Resnets, then a downsampler.
    DownBlock2D,
    /// Resnets over the skip connections, then an upsampler.
    UpBlock2D,
    /// Resnets over the skip connections, each followed by a transformer, then an upsampler.
    CrossAttnUpBlock2D,
}

impl BlockKind {
    /// Whether the block holds transformers.
    pub fn has_attention(self) -> bool {
        matches!(self, Self::CrossAttnDownBlock2D | Self::CrossAttnUpBlock2D)
    }
}

/// `UNet2DConditionModel` configuration (the fields Tango-2 sets; others must keep their
/// defaults, which [`UNetConfig::from_file`] checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Latent channels in.
    pub in_channels: usize,
    /// Latent channels out.
    pub out_channels: usize,
    /// Output channels of each resolution level.
    pub block_out_channels: Vec<usize>,
    /// Down block kinds, highest resolution first.
    pub down_block_types: Vec<BlockKind>,
    /// Up block kinds, lowest resolution first.
    pub up_block_types: Vec<BlockKind>,
    /// Resnets per down block (up blocks have one more).
    pub layers_per_block: usize,
    /// In diffusers <= 0.18 configs this is the NUMBER OF HEADS per level (not their size);
    /// a single number applies to every level.
    #[serde(deserialize_with = "one_or_many")]
    pub attention_head_dim: Vec<usize>,
    /// Width of the text (and adapter) tokens the cross-attentions read.
    pub cross_attention_dim: usize,
    /// Groups of every group norm.
    pub norm_num_groups: usize,
    /// Epsilon of the resnet and output group norms.
    pub norm_eps: f64,
    /// Timestep embedding puts cosines first.
    pub flip_sin_to_cos: bool,
    /// Timestep embedding frequency shift.
    pub freq_shift: f64,
    /// Transformers use Linear (not 1x1 conv) projections in and out.
    pub use_linear_projection: bool,
    /// Attention scores computed in f32 (always so here).
    #[serde(default)]
    pub upcast_attention: bool,
    /// Padding of the downsampling convolutions.
    #[serde(default = "one")]
    pub downsample_padding: usize,
}

fn one() -> usize {
    1
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(usize),
        Many(Vec<usize>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(n) => vec![n],
        OneOrMany::Many(v) => v,
    })
}

impl UNetConfig {
    /// Tango-2's U-Net (~866M parameters): 8 latent channels, 320-640-1280-1280, FLAN-T5-large
    /// text (1024 wide).
    pub fn tango2() -> Self {
        Self {
            in_channels: 8,
            out_channels: 8,
            block_out_channels: vec![320, 640, 1280, 1280],
            down_block_types: vec![
                BlockKind::CrossAttnDownBlock2D,
                BlockKind::CrossAttnDownBlock2D,
                BlockKind::CrossAttnDownBlock2D,
                BlockKind::DownBlock2D,
            ],
            up_block_types: vec![
                BlockKind::UpBlock2D,
                BlockKind::CrossAttnUpBlock2D,
                BlockKind::CrossAttnUpBlock2D,
                BlockKind::CrossAttnUpBlock2D,
            ],
            layers_per_block: 2,
            attention_head_dim: vec![5, 10, 20, 20],
            cross_attention_dim: 1024,
            norm_num_groups: 32,
            norm_eps: 1e-5,
            flip_sin_to_cos: true,
            freq_shift: 0.0,
            use_linear_projection: true,
            upcast_attention: true,
            downsample_padding: 1,
        }
    }

    /// The embedded default model's U-Net: Tango-2's block structure at laptop size, reading
    /// all-MiniLM-L6-v2 text tokens (384 wide). The outermost level (4096 latent positions
    /// for 10.24 s) has no transformer: attention there would cost more than the rest of the
    /// network together, while the next level still resolves time in 80 ms rows (128 rows for
    /// 10.24 s).
    pub fn small() -> Self {
        Self {
            block_out_channels: vec![64, 128, 192, 256],
            down_block_types: vec![
                BlockKind::DownBlock2D,
                BlockKind::CrossAttnDownBlock2D,
                BlockKind::CrossAttnDownBlock2D,
                BlockKind::DownBlock2D,
            ],
            up_block_types: vec![
                BlockKind::UpBlock2D,
                BlockKind::CrossAttnUpBlock2D,
                BlockKind::CrossAttnUpBlock2D,
                BlockKind::UpBlock2D,
            ],
            layers_per_block: 1,
            attention_head_dim: vec![1, 2, 3, 4],
            cross_attention_dim: 384,
            ..Self::tango2()
        }
    }

    /// Read a diffusers `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid JSON: {e}")))?;
        for (key, default) in [
            ("only_cross_attention", serde_json::json!(false)),
            ("dual_cross_attention", serde_json::json!(false)),
            ("center_input_sample", serde_json::json!(false)),
            ("num_class_embeds", serde_json::Value::Null),
            ("class_embed_type", serde_json::Value::Null),
            ("mid_block_scale_factor", serde_json::json!(1)),
        ] {
            if let Some(v) = raw.get(key)
                && *v != default
                && !(v.is_number() && default.is_number() && v.as_f64() == default.as_f64())
            {
                return Err(Error::media(
                    path,
                    format!("unsupported U-Net setting {key} = {v}"),
                ));
            }
        }
        if let Some(act) = raw.get("act_fn")
            && act != "silu"
        {
            return Err(Error::media(path, format!("unsupported activation {act}")));
        }
        let cfg: Self = serde_json::from_value(raw)
            .map_err(|e| Error::media(path, format!("invalid U-Net config: {e}")))?;
        cfg.validate().map_err(|m| Error::media(path, m))?;
        Ok(cfg)
    }

    /// Check that the lists agree and the widths divide as the architecture needs.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.block_out_channels.len();
        if n == 0 || self.down_block_types.len() != n || self.up_block_types.len() != n {
            return Err("block lists must have one entry per level".into());
        }
        if self.attention_head_dim.len() != 1 && self.attention_head_dim.len() != n {
            return Err("attention_head_dim must be one number or one per level".into());
        }
        let sizes = [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("layers_per_block", self.layers_per_block),
            ("cross_attention_dim", self.cross_attention_dim),
            ("norm_num_groups", self.norm_num_groups),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.block_out_channels.contains(&0) || self.attention_head_dim.contains(&0) {
            return Err("block widths and head counts must be at least 1".into());
        }
        for (i, &c) in self.block_out_channels.iter().enumerate() {
            if c % self.norm_num_groups != 0 {
                return Err(format!(
                    "{c} channels do not divide into {} groups",
                    self.norm_num_groups
                ));
            }
            if c % self.heads(i) != 0 {
                return Err(format!(
                    "{c} channels do not divide into {} heads",
                    self.heads(i)
                ));
            }
        }
        if self.block_out_channels[0] % 2 != 0 {
            return Err("the first level's width must be even (timestep embedding)".into());
        }
        Ok(())
    }

    /// Attention heads at level `i`.
    pub fn heads(&self, i: usize) -> usize {
        *self
            .attention_head_dim
            .get(i)
            .unwrap_or(&self.attention_head_dim[0])
    }

    /// Width of the timestep embedding.
    pub fn time_embed_dim(&self) -> usize {
        self.block_out_channels[0] * 4
    }
}
