//! T5 encoder ("Exploring the Limits of Transfer Learning with a Unified Text-to-Text
//! Transformer", Raffel et al. 2020) in transformers' `T5EncoderModel` layout, as FLAN-T5
//! ("Scaling Instruction-Finetuned Language Models", Chung et al. 2022) configures it: the text
//! encoder of Tango-style text-to-audio models.
//!
//! What sets it apart from BERT: no absolute positions, a learned bias per head on bucketed
//! relative distances (computed once from block 0's table and added in every block), attention
//! without the `1/sqrt(d)` scaling (folded into the trained weights), pre-norm blocks with RMS
//! norms that have no bias, and a gated feed-forward (`wo(act(wi_0 h) * wi_1 h)`, with the tanh
//! GELU for FLAN-T5).

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor, TensorData, activation};
use serde::Deserialize;

use super::tokenizer::TextTokenizer;
use crate::error::{Error, Result};
use crate::models::nn::{Linear, RmsNorm, gelu, gelu_tanh, silu};
use crate::models::unet::attention::{merge_heads, split_heads};
use crate::models::weights::{Init, Weights};

/// Longest input in tokens (FLAN-T5's `model_max_length`).
pub const MAX_TOKENS: usize = 512;

/// `T5Config` (`config.json`); only the encoder's fields are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct T5Config {
    /// Embedding rows (FLAN-T5: 32128, the 32100 tokens rounded up).
    pub vocab_size: usize,
    /// Model width.
    pub d_model: usize,
    /// Width of one attention head.
    pub d_kv: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Encoder blocks.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Relative-position buckets.
    #[serde(default = "buckets")]
    pub relative_attention_num_buckets: usize,
    /// Distance from which all relative positions share a bucket.
    #[serde(default = "max_distance")]
    pub relative_attention_max_distance: usize,
    /// RMS-norm epsilon.
    #[serde(default = "t5_eps")]
    pub layer_norm_epsilon: f64,
    /// Feed-forward kind: `"relu"` (T5 1.0), `"gated-gelu"` (T5 1.1, FLAN-T5), `"gated-silu"`.
    #[serde(default = "relu_name")]
    pub feed_forward_proj: String,
    /// Activation of the feed-forward if the config names it (else derived as transformers
    /// does: `"gated-gelu"` means the tanh GELU, `gelu_new`).
    #[serde(default)]
    pub dense_act_fn: Option<String>,
}

fn buckets() -> usize {
    32
}
fn max_distance() -> usize {
    128
}
fn t5_eps() -> f64 {
    1e-6
}
fn relu_name() -> String {
    "relu".into()
}

/// The feed-forward activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T5Activation {
    /// `relu`.
    Relu,
    /// `gelu_new`: the tanh approximation.
    GeluNew,
    /// `gelu`: the exact erf form.
    Gelu,
    /// `silu`.
    Silu,
}

impl T5Activation {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Relu => activation::relu(x),
            Self::GeluNew => gelu_tanh(x),
            Self::Gelu => gelu(x),
            Self::Silu => silu(x),
        }
    }
}

impl T5Config {
    /// google/flan-t5-large's encoder.
    pub fn flan_t5_large() -> Self {
        Self {
            vocab_size: 32128,
            d_model: 1024,
            d_kv: 64,
            d_ff: 2816,
            num_layers: 24,
            num_heads: 16,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            layer_norm_epsilon: 1e-6,
            feed_forward_proj: "gated-gelu".into(),
            dense_act_fn: Some("gelu_new".into()),
        }
    }

    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid T5 config: {e}")))?;
        cfg.feed_forward().map_err(|m| Error::media(path, m))?;
        if cfg.relative_attention_num_buckets < 4 || cfg.relative_attention_max_distance < 2 {
            return Err(Error::media(path, "invalid relative attention settings"));
        }
        Ok(cfg)
    }

    /// Whether the feed-forward is gated, and its activation.
    pub fn feed_forward(&self) -> std::result::Result<(bool, T5Activation), String> {
        let proj = self.feed_forward_proj.as_str();
        let (gated, act) = match proj.strip_prefix("gated-") {
            Some(act) => (true, act),
            None => (false, proj),
        };
        // transformers: "gated-gelu" selects gelu_new unless the config says otherwise.
        let default_act = if proj == "gated-gelu" {
            "gelu_new"
        } else {
            act
        };
        let act = self.dense_act_fn.as_deref().unwrap_or(default_act);
        let act = match act {
            "relu" => T5Activation::Relu,
            "gelu_new" | "gelu_pytorch_tanh" => T5Activation::GeluNew,
            "gelu" => T5Activation::Gelu,
            "silu" | "swish" => T5Activation::Silu,
            other => return Err(format!("unsupported feed-forward activation `{other}`")),
        };
        Ok((gated, act))
    }
}

/// T5's relative-position bucket of `relative = key - query`, bidirectional: keys after the
/// query use the upper half of the buckets; half of each half are exact distances, the rest
/// logarithmic up to `max_distance` (computed in f32, as transformers does).
pub fn relative_position_bucket(relative: i64, num_buckets: usize, max_distance: usize) -> usize {
    let nb = (num_buckets / 2) as i64;
    let base = if relative > 0 { nb } else { 0 };
    let n = relative.unsigned_abs() as i64;
    let max_exact = nb / 2;
    if n < max_exact {
        return (base + n) as usize;
    }
    let scale = (max_distance as f64 / max_exact as f64).ln() as f32;
    let val = (n as f32 / max_exact as f32).ln() / scale * (nb - max_exact) as f32;
    (base + (max_exact + val as i64).min(nb - 1)) as usize
}

/// Self-attention of one block (`layer.0.SelfAttention`): no biases, no scaling.
#[derive(Module, Debug)]
pub struct T5Attention {
    /// `q`.
    pub q: Linear,
    /// `k`.
    pub k: Linear,
    /// `v`.
    pub v: Linear,
    /// `o`.
    pub o: Linear,
    heads: usize,
}

impl T5Attention {
    fn load(w: &Weights, c: &T5Config) -> Result<Self> {
        let inner = c.num_heads * c.d_kv;
        Ok(Self {
            q: Linear::load(&w.pp("q"), c.d_model, inner, false)?,
            k: Linear::load(&w.pp("k"), c.d_model, inner, false)?,
            v: Linear::load(&w.pp("v"), c.d_model, inner, false)?,
            o: Linear::load(&w.pp("o"), inner, c.d_model, false)?,
            heads: c.num_heads,
        })
    }

    fn forward(&self, x: Tensor<3>, bias: &Tensor<4>) -> Tensor<3> {
        let q = split_heads(self.q.forward(x.clone()), self.heads);
        let k = split_heads(self.k.forward(x.clone()), self.heads);
        let v = split_heads(self.v.forward(x), self.heads);
        let opts = AttentionModuleOptions {
            scale: Some(1.0),
            ..AttentionModuleOptions::default()
        };
        let out = attention(q, k, v, None, Some(bias.clone()), opts);
        self.o.forward(merge_heads(out))
    }
}

/// Feed-forward of one block (`layer.1.DenseReluDense`).
#[derive(Module, Debug)]
pub struct T5FeedForward {
    /// `wi_0` (gated) or `wi` (plain).
    pub wi_0: Linear,
    /// `wi_1`, the gate's linear branch (gated only).
    pub wi_1: Option<Linear>,
    /// `wo`.
    pub wo: Linear,
    #[module(skip)]
    act: T5Activation,
}

impl T5FeedForward {
    fn load(w: &Weights, c: &T5Config) -> Result<Self> {
        let (gated, act) = c.feed_forward().map_err(Error::invalid)?;
        let (d, f) = (c.d_model, c.d_ff);
        Ok(Self {
            wi_0: Linear::load(&w.pp(if gated { "wi_0" } else { "wi" }), d, f, false)?,
            wi_1: if gated {
                Some(Linear::load(&w.pp("wi_1"), d, f, false)?)
            } else {
                None
            },
            wo: Linear::load(&w.pp("wo"), f, d, false)?,
            act,
        })
    }

    fn forward(&self, h: Tensor<3>) -> Tensor<3> {
        let a = self.act.apply(self.wi_0.forward(h.clone()));
        let a = match &self.wi_1 {
            Some(lin) => a * lin.forward(h),
            None => a,
        };
        self.wo.forward(a)
    }
}

/// One encoder block (pre-norm): attention then feed-forward, each with a residual.
#[derive(Module, Debug)]
pub struct T5Block {
    /// `layer.0.SelfAttention`.
    pub attention: T5Attention,
    /// `layer.0.layer_norm`.
    pub attention_norm: RmsNorm,
    /// `layer.1.DenseReluDense`.
    pub feed_forward: T5FeedForward,
    /// `layer.1.layer_norm`.
    pub feed_forward_norm: RmsNorm,
}

impl T5Block {
    fn load(w: &Weights, c: &T5Config) -> Result<Self> {
        let (l0, l1) = (w.pp("layer").pp(0), w.pp("layer").pp(1));
        Ok(Self {
            attention: T5Attention::load(&l0.pp("SelfAttention"), c)?,
            attention_norm: RmsNorm::load(&l0.pp("layer_norm"), c.d_model, c.layer_norm_epsilon)?,
            feed_forward: T5FeedForward::load(&l1.pp("DenseReluDense"), c)?,
            feed_forward_norm: RmsNorm::load(
                &l1.pp("layer_norm"),
                c.d_model,
                c.layer_norm_epsilon,
            )?,
        })
    }

    fn forward(&self, x: Tensor<3>, bias: &Tensor<4>) -> Tensor<3> {
        let x = x.clone() + self.attention.forward(self.attention_norm.forward(x), bias);
        x.clone() + self.feed_forward.forward(self.feed_forward_norm.forward(x))
    }
}

/// The T5 encoder stack.
#[derive(Module, Debug)]
pub struct T5Encoder {
    /// `shared` (or `encoder.embed_tokens`): `[vocab, d_model]`.
    pub embed_tokens: Param<Tensor<2>>,
    /// `encoder.block.0.layer.0.SelfAttention.relative_attention_bias`: `[buckets, heads]`.
    pub relative_attention_bias: Param<Tensor<2>>,
    /// `encoder.block.N`.
    pub blocks: Vec<T5Block>,
    /// `encoder.final_layer_norm`.
    pub final_layer_norm: RmsNorm,
    num_buckets: usize,
    max_distance: usize,
}

impl T5Encoder {
    /// Load from `w`: a `T5EncoderModel` file or a full `T5ForConditionalGeneration` one (the
    /// decoder and LM head are then left unread). The token table is `shared.weight` or, if
    /// that is absent, `encoder.embed_tokens.weight` (the same tensor, tied).
    pub fn load(cfg: &T5Config, w: &Weights) -> Result<Self> {
        let embed = if w.contains("shared.weight") || !w.contains("encoder.embed_tokens.weight") {
            w.pp("shared")
        } else {
            w.pp("encoder").pp("embed_tokens")
        };
        let e = w.pp("encoder");
        let model = Self {
            embed_tokens: Param::from_tensor(embed.get(
                "weight",
                [cfg.vocab_size, cfg.d_model],
                Init::Normal(1.0),
            )?),
            relative_attention_bias: Param::from_tensor(
                e.pp("block")
                    .pp(0)
                    .pp("layer")
                    .pp(0)
                    .pp("SelfAttention")
                    .pp("relative_attention_bias")
                    .get(
                        "weight",
                        [cfg.relative_attention_num_buckets, cfg.num_heads],
                        Init::Normal(1.0),
                    )?,
            ),
            blocks: (0..cfg.num_layers)
                .map(|i| T5Block::load(&e.pp("block").pp(i), cfg))
                .collect::<Result<Vec<_>>>()?,
            final_layer_norm: RmsNorm::load(
                &e.pp("final_layer_norm"),
                cfg.d_model,
                cfg.layer_norm_epsilon,
            )?,
            num_buckets: cfg.relative_attention_num_buckets,
            max_distance: cfg.relative_attention_max_distance,
        };
        w.finish_except(&["decoder.", "lm_head.", "encoder.embed_tokens."])?;
        Ok(model)
    }

    /// Width of the token states.
    pub fn width(&self) -> usize {
        self.embed_tokens.dims()[1]
    }

    /// Block 0's position bias for `len` tokens: `[1, heads, query, key]`.
    pub fn position_bias(&self, len: usize) -> Tensor<4> {
        let table = self.relative_attention_bias.val();
        let heads = table.dims()[1];
        let device = table.device();
        let buckets: Vec<i32> = (0..len as i64)
            .flat_map(|q| (0..len as i64).map(move |k| (q, k)))
            .map(|(q, k)| {
                relative_position_bucket(k - q, self.num_buckets, self.max_distance) as i32
            })
            .collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(buckets, [len * len]), &device);
        table
            .select(0, idx)
            .reshape([len, len, heads])
            .permute([2, 0, 1])
            .unsqueeze::<4>()
    }

    /// Token states `[B, L, d_model]` of `ids` `[B, L]` under `mask` (`[B, L]`, 1 = token,
    /// 0 = padding). Padded positions are computed like the others (they attend to the real
    /// tokens) and should be masked by the consumer.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [b, l] = ids.dims();
        let d = self.width();
        let mut x = self
            .embed_tokens
            .val()
            .select(0, ids.reshape([b * l]))
            .reshape([b, l, d]);
        // Padding keys get a large negative bias (transformers uses the dtype's minimum).
        let pad = mask
            .neg()
            .add_scalar(1.0)
            .mul_scalar(-1e30)
            .reshape([b, 1, 1, l]);
        let heads = self.relative_attention_bias.dims()[1];
        let bias = self.position_bias(l).expand([b, heads, l, l]) + pad;
        for block in &self.blocks {
            x = block.forward(x, &bias);
        }
        self.final_layer_norm.forward(x)
    }
}

/// A T5 text encoder with its SentencePiece tokenizer (`tokenizer.json`).
pub struct T5TextEncoder {
    /// The network.
    pub encoder: T5Encoder,
    /// Its tokenizer: `</s>` appended, `<pad>` (id 0) padding, truncation keeping `</s>`.
    pub tokenizer: TextTokenizer,
    device: Device,
}

impl T5TextEncoder {
    /// Load from a directory with `config.json`, `tokenizer.json` and the weights
    /// (`model.safetensors`, or the shards `model-*.safetensors`), truncating to
    /// [`MAX_TOKENS`].
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        Self::from_dir_with_max_len(dir, MAX_TOKENS, device)
    }

    /// As [`T5TextEncoder::from_dir`], truncating to `max_len` tokens (`</s>` included).
    pub fn from_dir_with_max_len(dir: &Path, max_len: usize, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::media(dir, "text encoder directory does not exist"));
        }
        let cfg = T5Config::from_file(&dir.join("config.json"))?;
        let w = Weights::from_files(&weight_files(dir)?, device)?;
        Ok(Self {
            encoder: T5Encoder::load(&cfg, &w)?,
            tokenizer: TextTokenizer::from_file(&dir.join("tokenizer.json"), max_len)?,
            device: device.clone(),
        })
    }

    /// Token states `[B, L, d_model]` and mask `[B, L]` of `texts`, padded to the longest.
    /// Empty text is valid (just `</s>`); an empty batch is an error; text beyond the maximum
    /// length is cut (keeping `</s>`).
    pub fn encode(&self, texts: &[&str]) -> Result<(Tensor<3>, Tensor<2>)> {
        let batch = self.tokenizer.encode(texts)?;
        let mask = batch.mask_tensor(&self.device);
        let states = self
            .encoder
            .forward(batch.ids_tensor(&self.device), mask.clone());
        Ok((states, mask))
    }
}

/// `model.safetensors`, or the sorted `model-*.safetensors` shards of a directory.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("model-") && n.ends_with(".safetensors"))
        })
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Err(Error::media(dir, "no model.safetensors in the directory"));
    }
    Ok(shards)
}
