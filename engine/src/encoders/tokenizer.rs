//! Tokenisation through Hugging Face `tokenizer.json` files (the `tokenizers` crate), into
//! padded id and mask batches with a maximum length. Settings stored in the file are replaced:
//! truncation to the maximum length (longest first, from the right, special tokens such as
//! BERT's `[CLS]`/`[SEP]` or T5's `</s>` kept within the limit) and padding on the right to the
//! batch's longest member with the vocabulary's padding token.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{Error, Result};

/// Token ids and attention mask of a batch, padded to its longest member.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// Sequences in the batch.
    pub batch: usize,
    /// Padded length.
    pub len: usize,
    /// `batch * len` ids, row-major.
    pub ids: Vec<u32>,
    /// `batch * len` mask values (1 = token, 0 = padding).
    pub mask: Vec<u32>,
}

impl TokenBatch {
    /// Ids as an `[B, L]` integer tensor.
    pub fn ids_tensor(&self, device: &Device) -> Tensor<2, Int> {
        let ids: Vec<i32> = self.ids.iter().map(|&i| i as i32).collect();
        Tensor::from_data(TensorData::new(ids, [self.batch, self.len]), device)
    }

    /// Mask as an `[B, L]` float tensor.
    pub fn mask_tensor(&self, device: &Device) -> Tensor<2> {
        let mask: Vec<f32> = self.mask.iter().map(|&m| m as f32).collect();
        Tensor::from_data(TensorData::new(mask, [self.batch, self.len]), device)
    }
}

/// A tokenizer with a fixed maximum length (longer text is truncated, special tokens kept).
pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

impl TextTokenizer {
    /// Load `tokenizer.json`, truncating to `max_len` tokens.
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, max_len).map_err(|e| Error::media(path, e.to_string()))
    }

    /// Load a `tokenizer.json` held in memory.
    pub fn from_bytes(bytes: &[u8], max_len: usize) -> Result<Self> {
        if max_len < 2 {
            return Err(Error::invalid("maximum token length must be at least 2"));
        }
        let mut inner = Tokenizer::from_bytes(bytes)
            .map_err(|e| Error::invalid(format!("invalid tokenizer: {e}")))?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..TruncationParams::default()
            }))
            .map_err(|e| Error::invalid(format!("invalid truncation: {e}")))?;
        // The file's own padding token if it names one, else the vocabulary's: BERT's
        // `[PAD]`, T5's `<pad>` (both id 0 in their models).
        let (pad_token, pad_id) = match inner.get_padding() {
            Some(p) => (p.pad_token.clone(), p.pad_id),
            None => ["[PAD]", "<pad>"]
                .iter()
                .find_map(|t| inner.token_to_id(t).map(|id| (t.to_string(), id)))
                .unwrap_or_else(|| ("[PAD]".into(), 0)),
        };
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token,
            ..PaddingParams::default()
        }));
        Ok(Self { inner, max_len })
    }

    /// Number of ids the tokenizer can produce (added tokens included).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The maximum length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Tokenise `texts` (with the tokenizer's special tokens), padded to the longest.
    pub fn encode(&self, texts: &[&str]) -> Result<TokenBatch> {
        if texts.is_empty() {
            return Err(Error::invalid("no text to encode"));
        }
        let encodings = self
            .inner
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::invalid(format!("cannot tokenise: {e}")))?;
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0);
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        Ok(TokenBatch {
            batch: texts.len(),
            len,
            ids,
            mask,
        })
    }
}
