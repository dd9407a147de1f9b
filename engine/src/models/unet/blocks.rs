//! The U-Net's resolution levels: down blocks (resnets, optional transformers, a strided
//! convolution), the middle block, and up blocks that consume the skip connections and
//! upsample by nearest-neighbour doubling and a convolution.

use burn::module::Module;
use burn::tensor::Tensor;

use std::cell::Cell;

use super::projected::ProjectedConditions;
use super::transformer::Transformer2D;
use crate::error::Result;
use crate::models::adapters::AdapterConfig;
use crate::models::kernels;
use crate::models::nn::Conv2d;
use crate::models::resnet::ResnetBlock2D;
use crate::models::weights::Weights;

/// What every block of one U-Net shares.
#[derive(Clone, Copy)]
pub struct BlockContext<'a> {
    /// Width of the timestep embedding.
    pub temb: usize,
    /// Group-norm groups.
    pub groups: usize,
    /// Resnet norm epsilon.
    pub eps: f64,
    /// Cross-attention context width.
    pub cross: usize,
    /// Adapter weights and sizes, when the model is adapted.
    pub adapter: Option<(&'a Weights, &'a AdapterConfig)>,
    /// Transformers loaded so far: the next one's slot.
    pub transformers: &'a Cell<usize>,
}

impl BlockContext<'_> {
    fn transformer(
        &self,
        w: &Weights,
        path: &str,
        i: usize,
        channels: usize,
        heads: usize,
    ) -> Result<Transformer2D> {
        let a = self.adapter.map(|(aw, cfg)| (aw.pp(path).pp(i), cfg));
        let slot = self.transformers.replace(self.transformers.get() + 1);
        Transformer2D::load(
            slot,
            &w.pp(i),
            a.as_ref().map(|(aw, cfg)| (aw, *cfg)),
            channels,
            heads,
            self.cross,
            self.groups,
        )
    }
}

/// A down block (`CrossAttnDownBlock2D` when it has transformers, else `DownBlock2D`).
#[derive(Module, Debug)]
pub struct DownBlock {
    /// Residual blocks.
    pub resnets: Vec<ResnetBlock2D>,
    /// One transformer after each resnet, or none.
    pub attentions: Vec<Transformer2D>,
    /// Stride-2 convolution (`downsamplers.0.conv`), except at the last level.
    pub downsampler: Option<Conv2d>,
}

impl DownBlock {
    /// Load from `w` (`down_blocks.i.`); `path` is the same prefix for the adapter weights.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        w: &Weights,
        path: &str,
        ctx: &BlockContext<'_>,
        c_in: usize,
        c_out: usize,
        layers: usize,
        heads: Option<usize>,
        downsample: Option<usize>,
    ) -> Result<Self> {
        let mut resnets = Vec::with_capacity(layers);
        let mut attentions = Vec::new();
        for j in 0..layers {
            let cin = if j == 0 { c_in } else { c_out };
            resnets.push(ResnetBlock2D::load(
                &w.pp("resnets").pp(j),
                cin,
                c_out,
                Some(ctx.temb),
                ctx.groups,
                ctx.eps,
            )?);
            if let Some(heads) = heads {
                attentions.push(ctx.transformer(
                    &w.pp("attentions"),
                    &format!("{path}.attentions"),
                    j,
                    c_out,
                    heads,
                )?);
            }
        }
        let downsampler = downsample
            .map(|pad| {
                Conv2d::load(
                    &w.pp("downsamplers").pp(0).pp("conv"),
                    c_out,
                    c_out,
                    3,
                    2,
                    pad,
                )
            })
            .transpose()?;
        Ok(Self {
            resnets,
            attentions,
            downsampler,
        })
    }

    /// Returns the block output and the skip connections it leaves for the up path.
    pub fn forward(
        &self,
        mut x: Tensor<4>,
        temb: &Tensor<2>,
        cond: &ProjectedConditions,
        skips: &mut Vec<Tensor<4>>,
    ) -> Tensor<4> {
        for (j, resnet) in self.resnets.iter().enumerate() {
            x = resnet.forward(x, Some(temb));
            if let Some(attn) = self.attentions.get(j) {
                x = attn.forward(x, cond);
            }
            skips.push(x.clone());
        }
        if let Some(down) = &self.downsampler {
            x = down.forward(x);
            skips.push(x.clone());
        }
        x
    }
}

/// `UNetMidBlock2DCrossAttn`: resnet, then (transformer, resnet) pairs.
#[derive(Module, Debug)]
pub struct MidBlock {
    /// `resnets.0 ..= resnets.n`.
    pub resnets: Vec<ResnetBlock2D>,
    /// `attentions.0 .. attentions.n-1`.
    pub attentions: Vec<Transformer2D>,
}

impl MidBlock {
    /// Load from `w` (`mid_block.`).
    pub fn load(
        w: &Weights,
        ctx: &BlockContext<'_>,
        channels: usize,
        heads: usize,
    ) -> Result<Self> {
        let r = |j: usize| {
            ResnetBlock2D::load(
                &w.pp("resnets").pp(j),
                channels,
                channels,
                Some(ctx.temb),
                ctx.groups,
                ctx.eps,
            )
        };
        Ok(Self {
            resnets: vec![r(0)?, r(1)?],
            attentions: vec![ctx.transformer(
                &w.pp("attentions"),
                "mid_block.attentions",
                0,
                channels,
                heads,
            )?],
        })
    }

    /// Apply.
    pub fn forward(&self, x: Tensor<4>, temb: &Tensor<2>, cond: &ProjectedConditions) -> Tensor<4> {
        let mut x = self.resnets[0].forward(x, Some(temb));
        for (attn, resnet) in self.attentions.iter().zip(&self.resnets[1..]) {
            x = resnet.forward(attn.forward(x, cond), Some(temb));
        }
        x
    }
}

/// An up block (`CrossAttnUpBlock2D` when it has transformers, else `UpBlock2D`).
#[derive(Module, Debug)]
pub struct UpBlock {
    /// Residual blocks over `[x, skip]`.
    pub resnets: Vec<ResnetBlock2D>,
    /// One transformer after each resnet, or none.
    pub attentions: Vec<Transformer2D>,
    /// Nearest x2 then 3x3 convolution (`upsamplers.0.conv`), except at the last level.
    pub upsampler: Option<Conv2d>,
}

/// Widths of one up block, as diffusers derives them.
pub struct UpWidths {
    /// Width coming from the level below.
    pub prev_out: usize,
    /// Width of this level.
    pub out: usize,
    /// Width of the matching down level's input (the last skip's width).
    pub skip_in: usize,
}

impl UpBlock {
    /// Load from `w` (`up_blocks.i.`).
    pub fn load(
        w: &Weights,
        path: &str,
        ctx: &BlockContext<'_>,
        widths: UpWidths,
        layers: usize,
        heads: Option<usize>,
        upsample: bool,
    ) -> Result<Self> {
        let mut resnets = Vec::with_capacity(layers);
        let mut attentions = Vec::new();
        for j in 0..layers {
            let skip = if j == layers - 1 {
                widths.skip_in
            } else {
                widths.out
            };
            let cin = if j == 0 { widths.prev_out } else { widths.out };
            resnets.push(ResnetBlock2D::load(
                &w.pp("resnets").pp(j),
                cin + skip,
                widths.out,
                Some(ctx.temb),
                ctx.groups,
                ctx.eps,
            )?);
            if let Some(heads) = heads {
                attentions.push(ctx.transformer(
                    &w.pp("attentions"),
                    &format!("{path}.attentions"),
                    j,
                    widths.out,
                    heads,
                )?);
            }
        }
        let upsampler = if upsample {
            Some(Conv2d::load(
                &w.pp("upsamplers").pp(0).pp("conv"),
                widths.out,
                widths.out,
                3,
                1,
                1,
            )?)
        } else {
            None
        };
        Ok(Self {
            resnets,
            attentions,
            upsampler,
        })
    }

    /// Apply, consuming skip connections from the end of `skips`.
    pub fn forward(
        &self,
        mut x: Tensor<4>,
        temb: &Tensor<2>,
        cond: &ProjectedConditions,
        skips: &mut Vec<Tensor<4>>,
    ) -> Tensor<4> {
        for (j, resnet) in self.resnets.iter().enumerate() {
            let skip = skips.pop().expect("one skip connection per up resnet");
            x = resnet.forward(Tensor::cat(vec![x, skip], 1), Some(temb));
            if let Some(attn) = self.attentions.get(j) {
                x = attn.forward(x, cond);
            }
        }
        if let Some(up) = &self.upsampler {
            x = up.forward(upsample_nearest2x(x));
        }
        x
    }
}

/// Nearest-neighbour doubling of both spatial axes.
pub fn upsample_nearest2x(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let device = x.device();
    if kernels::applies(&device, x.dtype()) {
        let out = kernels::with_values(x, |x| kernels::upsample_nearest2x(x, [b, c, h, w]));
        return kernels::tensor_of(out, [b, c, 2 * h, 2 * w], &device);
    }
    x.reshape([b, c, h, 1, w, 1])
        .expand([b, c, h, 2, w, 2])
        .reshape([b, c, 2 * h, 2 * w])
}
