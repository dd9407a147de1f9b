//! The conditions as the U-Net's transformers attend to them: projected to every block's
//! keys and values once per generation. The projections do not depend on the noisy latent or
//! the timestep, so every denoising step and every candidate of a window shares them;
//! projecting them inside each forward repeats the same matrix products steps x candidates
//! times.

use burn::tensor::Tensor;

use super::transformer::BlockMemory;
use crate::models::adapters::AdapterScales;

/// Every transformer block's keys and values of the conditions, batch first.
#[derive(Debug, Clone)]
pub struct ProjectedConditions {
    /// One per transformer, by slot.
    pub(super) blocks: Vec<BlockMemory>,
    /// Additive key bias for padded text tokens `[B, 1, 1, L]`.
    pub(super) text_bias: Option<Tensor<4>>,
    /// Adapter strengths.
    pub(super) scales: AdapterScales,
}

impl ProjectedConditions {
    /// The keys and values of the transformer at `slot`.
    pub fn block(&self, slot: usize) -> &BlockMemory {
        &self.blocks[slot]
    }

    /// The text key bias, when the text is padded.
    pub fn text_bias(&self) -> Option<&Tensor<4>> {
        self.text_bias.as_ref()
    }

    /// Adapter strengths.
    pub fn scales(&self) -> AdapterScales {
        self.scales
    }

    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.blocks.first().map_or(0, |b| b.text.k.dims()[0])
    }

    /// For `n` candidates guided together: the rows `[u_1..u_W, c_1..c_W]` (unconditional and
    /// conditional rows of `W` windows) become `[(u_1..u_W) x n, (c_1..c_W) x n]`, candidate
    /// by candidate, the layout the denoising loop splits.
    pub fn expand_pairs(&self, n: usize) -> Self {
        fn pairs(t: &Tensor<4>, n: usize) -> Tensor<4> {
            let w = t.dims()[0] / 2;
            let u = t.clone().narrow(0, 0, w).repeat_dim(0, n);
            let c = t.clone().narrow(0, w, w).repeat_dim(0, n);
            Tensor::cat(vec![u, c], 0)
        }
        self.map(|t| pairs(t, n))
    }

    /// The conditional half of the rows (the second), for sampling without guidance.
    pub fn conditional(&self) -> Self {
        self.map(|t| {
            let half = t.dims()[0] / 2;
            t.clone().narrow(0, half, half)
        })
    }

    fn map(&self, f: impl Fn(&Tensor<4>) -> Tensor<4>) -> Self {
        Self {
            blocks: self.blocks.iter().map(|b| b.map(&f)).collect(),
            text_bias: self.text_bias.as_ref().map(&f),
            scales: self.scales,
        }
    }
}
