//! `Transformer2DModel` with `BasicTransformerBlock`s: self-attention, text cross-attention
//! (with the decoupled video term), the AvSync frame- and audio-attention layers, and a GEGLU
//! feed-forward, each pre-normed and residual.

use burn::module::Module;
use burn::tensor::Tensor;

use super::attention::{Attention, KeyValues, merge_heads, sdpa};
use super::projected::ProjectedConditions;
use crate::error::Result;
use crate::models::adapters::{
    AdapterConfig, AdapterScales, Conditions, apply_rope, frame_positions, rope_tables,
};
use crate::models::kernels;
use crate::models::nn::{GroupNorm, LayerNorm, Linear, gelu};
use crate::models::weights::{Init, StateDict, Weights};

/// GEGLU feed-forward: `net.2(h * gelu(g))` with `[h, g] = net.0.proj(x)`.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// `net.0.proj`: to twice the inner width.
    pub proj: Linear,
    /// `net.2`: back to the model width.
    pub out: Linear,
}

impl FeedForward {
    /// Load from `w` (`ff.`), inner width `4 * dim`.
    pub fn load(w: &Weights, dim: usize) -> Result<Self> {
        let inner = 4 * dim;
        Ok(Self {
            proj: Linear::load(&w.pp("net").pp(0).pp("proj"), dim, 2 * inner, true)?,
            out: Linear::load(&w.pp("net").pp(2), inner, dim, true)?,
        })
    }

    /// Apply to `[B, L, dim]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let projected = self.proj.forward(x);
        let device = projected.device();
        if kernels::applies(&device, projected.dtype()) {
            let [b, l, two_inner] = projected.dims();
            let gated = kernels::with_values(projected, |v| kernels::geglu(v, two_inner / 2));
            return self
                .out
                .forward(kernels::tensor_of(gated, [b, l, two_inner / 2], &device));
        }
        let mut halves = projected.chunk(2, 2);
        let gate = halves.pop().expect("two halves");
        let hidden = halves.pop().expect("two halves");
        self.out.forward(hidden * gelu(gate))
    }
}

/// An AvSync adapter cross-attention layer (frames or audio) with its pre-norm.
#[derive(Module, Debug)]
pub struct AdapterAttention {
    /// Pre-norm (`norm_frame` / `norm_audio`).
    pub norm: LayerNorm,
    /// The cross-attention (`attn_frame` / `attn_audio`).
    pub attn: Attention,
}

impl AdapterAttention {
    fn load(w: &Weights, kind: &str, dim: usize, cross: usize, heads: usize) -> Result<Self> {
        Ok(Self {
            norm: LayerNorm::load(&w.pp(format!("norm_{kind}")), dim, 1e-5)?,
            attn: Attention::load(
                &w.pp(format!("attn_{kind}")),
                dim,
                cross,
                heads,
                dim / heads,
                Some(Init::Zeros),
            )?,
        })
    }
}

/// Where a block's tokens sit in time, for the frame-attention's rotary embedding.
#[derive(Debug, Clone, Copy)]
pub struct TokenGrid {
    /// Time rows of the feature map.
    pub rows: usize,
    /// Frequency columns of the feature map.
    pub cols: usize,
}

/// One block's keys and values of the conditions: the text's, and those of each adapter
/// that is on (frame keys already carry their rotary positions).
#[derive(Debug, Clone)]
pub struct BlockMemory {
    /// Text cross-attention.
    pub text: KeyValues,
    /// Decoupled video term of the text cross-attention.
    pub video: Option<KeyValues>,
    /// Frame-attention.
    pub frames: Option<KeyValues>,
    /// Audio-attention.
    pub audio: Option<KeyValues>,
}

impl BlockMemory {
    /// Apply `f` to every tensor (batch rearrangements).
    pub fn map(&self, f: &impl Fn(&Tensor<4>) -> Tensor<4>) -> Self {
        Self {
            text: self.text.map(f),
            video: self.video.as_ref().map(|kv| kv.map(f)),
            frames: self.frames.as_ref().map(|kv| kv.map(f)),
            audio: self.audio.as_ref().map(|kv| kv.map(f)),
        }
    }
}

/// One transformer block.
#[derive(Module, Debug)]
pub struct BasicTransformerBlock {
    /// Norm before self-attention.
    pub norm1: LayerNorm,
    /// Self-attention.
    pub attn1: Attention,
    /// Norm before the text cross-attention.
    pub norm2: LayerNorm,
    /// Text cross-attention (+ decoupled video keys/values when adapted).
    pub attn2: Attention,
    /// Frame-attention (eq. 2).
    pub frame: Option<AdapterAttention>,
    /// Audio-attention (eq. 3).
    pub audio: Option<AdapterAttention>,
    /// Norm before the feed-forward.
    pub norm3: LayerNorm,
    /// GEGLU feed-forward.
    pub ff: FeedForward,
    rope_theta: f64,
}

impl BasicTransformerBlock {
    /// Load from the backbone weights `w` and, when adapted, the adapter weights `a`, both
    /// under this block's path.
    pub fn load(
        w: &Weights,
        a: Option<(&Weights, &AdapterConfig)>,
        dim: usize,
        cross: usize,
        heads: usize,
    ) -> Result<Self> {
        let head_dim = dim / heads;
        let mut attn2 = Attention::load(&w.pp("attn2"), dim, cross, heads, head_dim, None)?;
        let (frame, audio, rope_theta) = match a {
            Some((a, cfg)) => {
                attn2 = attn2.with_video(&a.pp("attn2"), cross)?;
                (
                    Some(AdapterAttention::load(a, "frame", dim, cross, heads)?),
                    Some(AdapterAttention::load(a, "audio", dim, cross, heads)?),
                    cfg.rope_theta,
                )
            }
            None => (None, None, 10_000.0),
        };
        Ok(Self {
            norm1: LayerNorm::load(&w.pp("norm1"), dim, 1e-5)?,
            attn1: Attention::load(&w.pp("attn1"), dim, dim, heads, head_dim, None)?,
            norm2: LayerNorm::load(&w.pp("norm2"), dim, 1e-5)?,
            attn2,
            frame,
            audio,
            norm3: LayerNorm::load(&w.pp("norm3"), dim, 1e-5)?,
            ff: FeedForward::load(&w.pp("ff"), dim)?,
            rope_theta,
        })
    }

    /// Append this block's adapter weights to `state` under `prefix` (the block's path).
    pub fn save_adapter(&self, prefix: &str, state: &mut StateDict) {
        if let (Some(k), Some(v)) = (&self.attn2.to_k_video, &self.attn2.to_v_video) {
            k.save(&format!("{prefix}.attn2.to_k_video"), state);
            v.save(&format!("{prefix}.attn2.to_v_video"), state);
        }
        for (kind, layer) in [("frame", &self.frame), ("audio", &self.audio)] {
            if let Some(layer) = layer {
                layer.norm.save(&format!("{prefix}.norm_{kind}"), state);
                let a = &layer.attn;
                a.to_q.save(&format!("{prefix}.attn_{kind}.to_q"), state);
                a.to_k.save(&format!("{prefix}.attn_{kind}.to_k"), state);
                a.to_v.save(&format!("{prefix}.attn_{kind}.to_v"), state);
                a.to_out
                    .save(&format!("{prefix}.attn_{kind}.to_out.0"), state);
            }
        }
    }

    /// Project `cond` to this block's keys and values, for the adapters `cond.scales` turns on.
    pub fn memory(&self, cond: &Conditions) -> BlockMemory {
        let on = |scale: f64| scale != 0.0;
        let video = cond
            .video
            .as_ref()
            .filter(|_| on(cond.scales.video))
            .and_then(|tokens| self.attn2.video_keys_values(tokens));
        let frames = match (&self.frame, &cond.frames) {
            (Some(layer), Some(frames)) if on(cond.scales.frames) => {
                let kv = layer.attn.keys_values(frames);
                let [_, _, n, head_dim] = kv.k.dims();
                let (_, kpos) = frame_positions(1, 1, n);
                let (kc, ks) = rope_tables(&kpos, head_dim, self.rope_theta, &kv.k.device());
                Some(KeyValues {
                    k: apply_rope(kv.k, &kc, &ks),
                    v: kv.v,
                })
            }
            _ => None,
        };
        let audio = match (&self.audio, &cond.audio) {
            (Some(layer), Some(audio)) if on(cond.scales.audio) => {
                Some(layer.attn.keys_values(audio))
            }
            _ => None,
        };
        BlockMemory {
            text: self.attn2.keys_values(&cond.text),
            video,
            frames,
            audio,
        }
    }

    /// Apply to tokens `[B, rows * cols, dim]` attending to `memory`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        memory: &BlockMemory,
        text_bias: Option<&Tensor<4>>,
        scales: AdapterScales,
        grid: TokenGrid,
    ) -> Tensor<3> {
        let h = self.norm1.forward(x.clone());
        let x = x + self.attn1.forward(h);

        let h = self.norm2.forward(x.clone());
        let video = memory.video.as_ref().map(|kv| (kv, scales.video));
        let mut x = x + self
            .attn2
            .attend(h, &memory.text, text_bias.cloned(), video);

        if let (Some(layer), Some(frames)) = (&self.frame, &memory.frames) {
            x = x.clone()
                + self
                    .frame_attention(layer, x, frames, grid)
                    .mul_scalar(scales.frames);
        }
        if let (Some(layer), Some(audio)) = (&self.audio, &memory.audio) {
            let h = layer.norm.forward(x.clone());
            x = x + layer
                .attn
                .attend(h, audio, None, None)
                .mul_scalar(scales.audio);
        }

        let h = self.norm3.forward(x.clone());
        x + self.ff.forward(h)
    }

    /// Frame-attention with rotary positions on one time scale (see `models::adapters`);
    /// the keys carry theirs already.
    fn frame_attention(
        &self,
        layer: &AdapterAttention,
        x: Tensor<3>,
        frames: &KeyValues,
        grid: TokenGrid,
    ) -> Tensor<3> {
        let attn = &layer.attn;
        let q = attn.query(layer.norm.forward(x));
        let head_dim = q.dims()[3];
        let n = frames.k.dims()[2];
        let (qpos, _) = frame_positions(grid.rows, grid.cols, n);
        let (qc, qs) = rope_tables(&qpos, head_dim, self.rope_theta, &q.device());
        let out = sdpa(
            apply_rope(q, &qc, &qs),
            frames.k.clone(),
            frames.v.clone(),
            None,
        );
        attn.to_out.forward(merge_heads(out))
    }
}

/// `Transformer2DModel` with linear projections: group norm, flatten the `H x W` grid to
/// tokens, transformer blocks, project back, residual.
#[derive(Module, Debug)]
pub struct Transformer2D {
    /// Group norm (eps 1e-6, as diffusers).
    pub norm: GroupNorm,
    /// Channels to the inner width.
    pub proj_in: Linear,
    /// The blocks (`transformer_blocks.N`).
    pub transformer_blocks: Vec<BasicTransformerBlock>,
    /// Inner width back to channels.
    pub proj_out: Linear,
    /// This transformer's place among the U-Net's (its block's keys and values in
    /// [`ProjectedConditions`]).
    slot: usize,
}

impl Transformer2D {
    /// Load one transformer of `channels` width with `heads` heads, the U-Net's `slot`-th.
    pub fn load(
        slot: usize,
        w: &Weights,
        a: Option<(&Weights, &AdapterConfig)>,
        channels: usize,
        heads: usize,
        cross: usize,
        groups: usize,
    ) -> Result<Self> {
        // Tango uses one block per transformer (`transformer_layers_per_block` = 1).
        let a0 = a.map(|(aw, cfg)| (aw.pp("transformer_blocks").pp(0), cfg));
        let block0 = BasicTransformerBlock::load(
            &w.pp("transformer_blocks").pp(0),
            a0.as_ref().map(|(aw, cfg)| (aw, *cfg)),
            channels,
            cross,
            heads,
        )?;
        Ok(Self {
            norm: GroupNorm::load(&w.pp("norm"), groups, channels, 1e-6)?,
            proj_in: Linear::load(&w.pp("proj_in"), channels, channels, true)?,
            transformer_blocks: vec![block0],
            proj_out: Linear::load(&w.pp("proj_out"), channels, channels, true)?,
            slot,
        })
    }

    /// Its place among the U-Net's transformers.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// Project `cond` to the keys and values of this transformer's block.
    pub fn memory(&self, cond: &Conditions) -> BlockMemory {
        self.transformer_blocks[0].memory(cond)
    }

    /// Apply to a feature map `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>, cond: &ProjectedConditions) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let residual = x.clone();
        let tokens = self.norm.forward(x).reshape([b, c, h * w]).swap_dims(1, 2);
        let tokens = self.proj_in.forward(tokens);
        let grid = TokenGrid { rows: h, cols: w };
        // One block per transformer (see `load`), whose keys and values sit at `slot`.
        let block = &self.transformer_blocks[0];
        let memory = cond.block(self.slot);
        let tokens = block.forward(tokens, memory, cond.text_bias(), cond.scales(), grid);
        let out = self
            .proj_out
            .forward(tokens)
            .swap_dims(1, 2)
            .reshape([b, c, h, w]);
        out + residual
    }
}
