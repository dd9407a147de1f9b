//! `ResnetBlock2D`: two 3x3 convolutions with group norm and SiLU, the timestep embedding
//! (U-Net only) added in between, and a 1x1 shortcut when the width changes. Shared by the
//! U-Net and the VAE.

use burn::module::Module;
use burn::tensor::Tensor;

use super::nn::{Conv2d, GroupNorm, Linear, silu};
use super::weights::Weights;
use crate::error::Result;

/// A residual block, optionally conditioned on the timestep embedding.
#[derive(Module, Debug)]
pub struct ResnetBlock2D {
    /// Norm before the first convolution.
    pub norm1: GroupNorm,
    /// First 3x3 convolution.
    pub conv1: Conv2d,
    /// Projection of the timestep embedding to the block's width (U-Net only).
    pub time_emb_proj: Option<Linear>,
    /// Norm before the second convolution.
    pub norm2: GroupNorm,
    /// Second 3x3 convolution.
    pub conv2: Conv2d,
    /// 1x1 projection of the input when widths differ.
    pub conv_shortcut: Option<Conv2d>,
}

impl ResnetBlock2D {
    /// Load a block from `c_in` to `c_out` channels, conditioned on a timestep embedding of
    /// width `temb` when given.
    pub fn load(
        w: &Weights,
        c_in: usize,
        c_out: usize,
        temb: Option<usize>,
        groups: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(Self {
            norm1: GroupNorm::load(&w.pp("norm1"), groups, c_in, eps)?,
            conv1: Conv2d::load(&w.pp("conv1"), c_in, c_out, 3, 1, 1)?,
            time_emb_proj: temb
                .map(|t| Linear::load(&w.pp("time_emb_proj"), t, c_out, true))
                .transpose()?,
            norm2: GroupNorm::load(&w.pp("norm2"), groups, c_out, eps)?,
            conv2: Conv2d::load(&w.pp("conv2"), c_out, c_out, 3, 1, 1)?,
            conv_shortcut: if c_in != c_out {
                Some(Conv2d::load(&w.pp("conv_shortcut"), c_in, c_out, 1, 1, 0)?)
            } else {
                None
            },
        })
    }

    /// `x + conv2(silu(norm2(conv1(silu(norm1(x))) + proj(silu(temb)))))`.
    pub fn forward(&self, x: Tensor<4>, temb: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = self.conv1.forward(self.norm1.forward_silu(x.clone()));
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            let t: Tensor<4> = proj.forward(silu(temb.clone())).unsqueeze_dims(&[2, 3]);
            h = h + t;
        }
        let h = self.conv2.forward(self.norm2.forward_silu(h));
        let skip = match &self.conv_shortcut {
            Some(c) => c.forward(x),
            None => x,
        };
        skip + h
    }
}
