//! all-MiniLM-L6-v2 (sentence-transformers; Apache-2.0): the default model's text encoder.
//! Its token states condition the U-Net's cross-attention; its mean-pooled, normalised
//! sentence embedding feeds the audio-text verifier.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use super::bert::{Bert, BertConfig};
use super::tokenizer::TextTokenizer;
use crate::error::{Error, Result};
use crate::models::weights::Weights;

/// Longest input in tokens, as sentence-transformers configures the model.
pub const MAX_TOKENS: usize = 256;

/// The MiniLM text encoder with its tokenizer.
pub struct MiniLm {
    /// The BERT network.
    pub bert: Bert,
    /// Its WordPiece tokenizer (lower-casing, accent stripping).
    pub tokenizer: TextTokenizer,
    device: Device,
}

impl MiniLm {
    /// Load from a directory with `config.json`, `model.safetensors` and `tokenizer.json`.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::media(dir, "text encoder directory does not exist"));
        }
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let w = Weights::from_files(&[dir.join("model.safetensors")], device)?;
        Ok(Self {
            bert: Bert::load(&cfg, &w)?,
            tokenizer: TextTokenizer::from_file(
                &dir.join("tokenizer.json"),
                MAX_TOKENS.min(cfg.max_position_embeddings),
            )?,
            device: device.clone(),
        })
    }

    /// Width of the token states.
    pub fn width(&self) -> usize {
        self.bert.word_embeddings.dims()[1]
    }

    /// Token states `[B, L, 384]` and mask `[B, L]` of `texts`. Empty text is valid: it is the
    /// `[CLS] [SEP]` pair, the model's "nothing in particular".
    pub fn encode(&self, texts: &[&str]) -> Result<(Tensor<3>, Tensor<2>)> {
        let batch = self.tokenizer.encode(texts)?;
        let mask = batch.mask_tensor(&self.device);
        let states = self
            .bert
            .forward(batch.ids_tensor(&self.device), mask.clone(), None);
        Ok((states, mask))
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Unit-length sentence embeddings `[B, 384]`.
    pub fn sentence_embeddings(&self, texts: &[&str]) -> Result<Tensor<2>> {
        let (states, mask) = self.encode(texts)?;
        Ok(Bert::sentence_embedding(states, mask))
    }
}
