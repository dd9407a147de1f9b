//! BERT encoder ("BERT: Pre-training of Deep Bidirectional Transformers", Devlin et al. 2019)
//! in transformers' `BertModel` layout, with sentence-transformers' masked mean pooling: the
//! all-MiniLM-L6-v2 text encoder of the default model.

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::nn::{LayerNorm, Linear, gelu};
use crate::models::unet::attention::{merge_heads, sdpa, split_heads};
use crate::models::weights::{Init, Weights};

/// `BertModel` configuration (`config.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    /// Token vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Longest sequence (learned positions).
    pub max_position_embeddings: usize,
    /// Segment vocabulary.
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    #[serde(default = "bert_eps")]
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward (only exact GELU is supported).
    #[serde(default = "gelu_name")]
    pub hidden_act: String,
}

fn two() -> usize {
    2
}
fn bert_eps() -> f64 {
    1e-12
}
fn gelu_name() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid BERT config: {e}")))?;
        if cfg.hidden_act != "gelu" {
            return Err(Error::media(
                path,
                format!("unsupported activation `{}`", cfg.hidden_act),
            ));
        }
        if cfg.num_attention_heads == 0 || cfg.hidden_size % cfg.num_attention_heads != 0 {
            return Err(Error::media(
                path,
                "hidden size does not divide into the heads",
            ));
        }
        Ok(cfg)
    }
}

/// One encoder layer (post-norm).
#[derive(Module, Debug)]
pub struct BertLayer {
    /// `attention.self.query`.
    pub query: Linear,
    /// `attention.self.key`.
    pub key: Linear,
    /// `attention.self.value`.
    pub value: Linear,
    /// `attention.output.dense`.
    pub attention_out: Linear,
    /// `attention.output.LayerNorm`.
    pub attention_norm: LayerNorm,
    /// `intermediate.dense`.
    pub intermediate: Linear,
    /// `output.dense`.
    pub output: Linear,
    /// `output.LayerNorm`.
    pub output_norm: LayerNorm,
    heads: usize,
}

impl BertLayer {
    fn load(w: &Weights, c: &BertConfig) -> Result<Self> {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let a = w.pp("attention");
        Ok(Self {
            query: Linear::load(&a.pp("self").pp("query"), h, h, true)?,
            key: Linear::load(&a.pp("self").pp("key"), h, h, true)?,
            value: Linear::load(&a.pp("self").pp("value"), h, h, true)?,
            attention_out: Linear::load(&a.pp("output").pp("dense"), h, h, true)?,
            attention_norm: LayerNorm::load(&a.pp("output").pp("LayerNorm"), h, c.layer_norm_eps)?,
            intermediate: Linear::load(&w.pp("intermediate").pp("dense"), h, i, true)?,
            output: Linear::load(&w.pp("output").pp("dense"), i, h, true)?,
            output_norm: LayerNorm::load(&w.pp("output").pp("LayerNorm"), h, c.layer_norm_eps)?,
            heads: c.num_attention_heads,
        })
    }

    fn forward(&self, x: Tensor<3>, bias: &Tensor<4>) -> Tensor<3> {
        let q = split_heads(self.query.forward(x.clone()), self.heads);
        let k = split_heads(self.key.forward(x.clone()), self.heads);
        let v = split_heads(self.value.forward(x.clone()), self.heads);
        let a = self
            .attention_out
            .forward(merge_heads(sdpa(q, k, v, Some(bias.clone()))));
        let x = self.attention_norm.forward(a + x);
        let h = self
            .output
            .forward(gelu(self.intermediate.forward(x.clone())));
        self.output_norm.forward(h + x)
    }
}

/// The BERT encoder.
#[derive(Module, Debug)]
pub struct Bert {
    /// `embeddings.word_embeddings`.
    pub word_embeddings: Param<Tensor<2>>,
    /// `embeddings.position_embeddings`.
    pub position_embeddings: Param<Tensor<2>>,
    /// `embeddings.token_type_embeddings`.
    pub token_type_embeddings: Param<Tensor<2>>,
    /// `embeddings.LayerNorm`.
    pub embeddings_norm: LayerNorm,
    /// `encoder.layer.N`.
    pub layers: Vec<BertLayer>,
    max_positions: usize,
}

impl Bert {
    /// Load from `w` (keys without a `bert.` prefix, as sentence-transformers saves them). A
    /// pooler in the checkpoint is ignored: sentence embeddings come from mean pooling.
    pub fn load(cfg: &BertConfig, w: &Weights) -> Result<Self> {
        let e = w.pp("embeddings");
        let h = cfg.hidden_size;
        let model = Self {
            word_embeddings: Param::from_tensor(e.pp("word_embeddings").get(
                "weight",
                [cfg.vocab_size, h],
                Init::Normal(0.02),
            )?),
            position_embeddings: Param::from_tensor(e.pp("position_embeddings").get(
                "weight",
                [cfg.max_position_embeddings, h],
                Init::Normal(0.02),
            )?),
            token_type_embeddings: Param::from_tensor(e.pp("token_type_embeddings").get(
                "weight",
                [cfg.type_vocab_size, h],
                Init::Normal(0.02),
            )?),
            embeddings_norm: LayerNorm::load(&e.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            layers: (0..cfg.num_hidden_layers)
                .map(|i| BertLayer::load(&w.pp("encoder").pp("layer").pp(i), cfg))
                .collect::<Result<Vec<_>>>()?,
            max_positions: cfg.max_position_embeddings,
        };
        w.finish_except(&["pooler.", "embeddings.position_ids"])?;
        Ok(model)
    }

    /// Longest input the position table allows.
    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// Token states `[B, L, hidden]` of `ids` `[B, L]` under `mask` (`[B, L]`, 1 = token,
    /// 0 = padding); segments default to 0 everywhere.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
        segments: Option<Tensor<2, Int>>,
    ) -> Tensor<3> {
        let [b, l] = ids.dims();
        let h = self.word_embeddings.dims()[1];
        let lookup = |table: Tensor<2>, idx: Tensor<2, Int>| {
            table.select(0, idx.reshape([b * l])).reshape([b, l, h])
        };
        let words = lookup(self.word_embeddings.val(), ids);
        let positions = self
            .position_embeddings
            .val()
            .narrow(0, 0, l)
            .unsqueeze::<3>();
        let segment = match segments {
            Some(s) => lookup(self.token_type_embeddings.val(), s),
            None => self
                .token_type_embeddings
                .val()
                .narrow(0, 0, 1)
                .unsqueeze::<3>(),
        };
        let mut x = self.embeddings_norm.forward(words + positions + segment);
        // Padding keys get a large negative bias (transformers uses the dtype's minimum).
        let bias = mask
            .neg()
            .add_scalar(1.0)
            .mul_scalar(-1e30)
            .reshape([b, 1, 1, l]);
        for layer in &self.layers {
            x = layer.forward(x, &bias);
        }
        x
    }

    /// sentence-transformers' mean pooling over real tokens, then L2 normalisation.
    pub fn sentence_embedding(tokens: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        let m = mask.unsqueeze_dim::<3>(2);
        let sum = (tokens * m.clone()).sum_dim(1).squeeze_dim::<2>(1);
        let count = m.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9);
        let mean = sum / count;
        let norm = mean.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        mean / norm
    }
}
