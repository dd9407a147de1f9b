//! Sinusoidal timestep embedding and its MLP (diffusers `Timesteps` + `TimestepEmbedding`,
//! after "Denoising Diffusion Probabilistic Models", Ho et al. 2020).

use burn::module::Module;
use burn::tensor::Tensor;

use crate::error::Result;
use crate::models::nn::{Linear, silu};
use crate::models::weights::Weights;

/// `t -> [sin(t w_k), cos(t w_k)]` with `w_k = exp(-ln(10000) k / (half - shift))`.
pub fn timestep_features(
    t: Tensor<1>,
    dim: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
) -> Tensor<2> {
    let half = dim / 2;
    let device = t.device();
    let freqs: Vec<f32> = (0..half)
        .map(|k| (-(10000f64.ln()) * k as f64 / (half as f64 - freq_shift)).exp() as f32)
        .collect();
    let freqs = Tensor::<1>::from_floats(freqs.as_slice(), &device);
    let angles = t.unsqueeze_dim::<2>(1) * freqs.unsqueeze_dim::<2>(0);
    let (sin, cos) = (angles.clone().sin(), angles.cos());
    if flip_sin_to_cos {
        Tensor::cat(vec![cos, sin], 1)
    } else {
        Tensor::cat(vec![sin, cos], 1)
    }
}

/// The two-layer MLP over the sinusoidal features (`time_embedding.linear_1/2`).
#[derive(Module, Debug)]
pub struct TimestepEmbedding {
    /// Features to the embedding width.
    pub linear_1: Linear,
    /// Embedding to embedding.
    pub linear_2: Linear,
}

impl TimestepEmbedding {
    /// Load from `w` (`time_embedding.`).
    pub fn load(w: &Weights, d_in: usize, d_out: usize) -> Result<Self> {
        Ok(Self {
            linear_1: Linear::load(&w.pp("linear_1"), d_in, d_out, true)?,
            linear_2: Linear::load(&w.pp("linear_2"), d_out, d_out, true)?,
        })
    }

    /// Embed the sinusoidal features.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear_2.forward(silu(self.linear_1.forward(x)))
    }
}
