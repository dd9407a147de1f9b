//! The residual vector quantizer: each codebook takes the nearest codeword to the residual
//! left by the ones before it.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor};

/// Residual vector quantizer: the codebooks (`quantizer.layers.N.codebook.embed`).
#[derive(Module, Debug)]
pub struct ResidualVectorQuantizer {
    /// `[codebook_size, dim]` per codebook.
    pub codebooks: Vec<Param<Tensor<2>>>,
}

impl ResidualVectorQuantizer {
    /// Codes `[B, n_q, T]` of latents `[B, D, T]`: for each codebook in turn, the nearest
    /// codeword (squared distance; the first on an exact tie) to what the codebooks before it
    /// left, which is then subtracted.
    pub fn encode(&self, latent: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        let [b, d, t] = latent.dims();
        let mut residual = latent.swap_dims(1, 2).reshape([b * t, d]);
        let mut codes = Vec::with_capacity(n_q);
        for book in self.codebooks.iter().take(n_q) {
            let e = book.val();
            // argmin |r - e|^2 = argmax 2 r.e - |e|^2 (|r|^2 is the same for every codeword).
            let e_sq = e.clone().square().sum_dim(1).reshape([1, e.dims()[0]]);
            let score = residual
                .clone()
                .matmul(e.clone().transpose())
                .mul_scalar(2.0)
                - e_sq;
            let idx = score.argmax(1).reshape([b * t]);
            residual = residual - e.select(0, idx.clone());
            codes.push(idx.reshape([b, 1, t]));
        }
        Tensor::cat(codes, 1)
    }

    /// Sum of the first `k` codebooks' codewords for `codes` `[B, >= k, T]`: `[B, T, D]`.
    pub fn embed_sum(&self, codes: Tensor<3, Int>, k: usize) -> Tensor<3> {
        let [b, _, t] = codes.dims();
        let d = self.codebooks[0].dims()[1];
        let device = codes.device();
        (0..k).fold(Tensor::zeros([b, t, d], &device), |acc, q| {
            let idx = codes.clone().narrow(1, q, 1).reshape([b * t]);
            acc + self.codebooks[q].val().select(0, idx).reshape([b, t, d])
        })
    }
}
