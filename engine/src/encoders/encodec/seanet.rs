//! The SEANet encoder: causal, weight-normalised convolutions with reflect padding, residual
//! units, strided downsampling and a two-layer LSTM with a skip connection.

use burn::module::{Module, Param};
use burn::tensor::module::conv1d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Tensor, activation};

use crate::error::Result;
use crate::models::weights::{Init, Weights};

use super::EncodecConfig;

/// A weight-normalised 1-D convolution with EnCodec's padding rule (`<layer>.conv`).
#[derive(Module, Debug)]
pub struct EncodecConv1d {
    /// The effective kernel `g * v / ||v||`, `[out, in, k]`.
    pub weight: Param<Tensor<3>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
    stride: usize,
    dilation: usize,
    causal: bool,
}

impl EncodecConv1d {
    /// Load `conv.{bias, weight}` under `w`, the weight as the weight-norm pair (either
    /// naming) or, if neither is present, a plain `conv.weight`.
    pub fn load(
        w: &Weights,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        causal: bool,
    ) -> Result<Self> {
        let w = w.pp("conv");
        let init = Init::FanIn(c_in * k);
        let pair = if w.contains("parametrizations.weight.original1") {
            Some((
                "parametrizations.weight.original0",
                "parametrizations.weight.original1",
            ))
        } else if w.contains("weight_v") || w.is_fresh() {
            Some(("weight_g", "weight_v"))
        } else {
            None
        };
        let weight = match pair {
            Some((g, v)) => {
                let g = w.get(g, [c_out, 1, 1], Init::Ones)?;
                let v = w.get(v, [c_out, c_in, k], init)?;
                let norm = v.clone().square().sum_dim(2).sum_dim(1).sqrt();
                g * v / norm
            }
            None => w.get("weight", [c_out, c_in, k], init)?,
        };
        Ok(Self {
            weight: Param::from_tensor(weight),
            bias: Param::from_tensor(w.get("bias", [c_out], init)?),
            stride,
            dilation,
            causal,
        })
    }

    /// Apply to `[B, C, T]` (`T >= 1`): pad so that the output has `ceil(T / stride)` frames
    /// (causal: all the fixed padding on the left), reflecting the signal (zero-extended on
    /// the right first when it is too short to reflect), then convolve.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let k = self.weight.dims()[2];
        let k_eff = (k - 1) * self.dilation + 1;
        let s = self.stride;
        let padding_total = k_eff - s;
        let len = x.dims()[2];
        let extra = len.div_ceil(s) * s - len;
        let (left, right) = if self.causal {
            (padding_total, extra)
        } else {
            let r = padding_total / 2;
            (padding_total - r, r + extra)
        };
        let x = reflect_pad(x, left, right);
        let opts = ConvOptions::new([s], [0], [self.dilation], 1);
        conv1d(x, self.weight.val(), Some(self.bias.val()), opts)
    }
}

/// Reflect padding as transformers' `EncodecConv1d._pad1d`: a signal not longer than the
/// larger pad is zero-extended on the right first, and that extension is cut off afterwards.
fn reflect_pad(x: Tensor<3>, left: usize, right: usize) -> Tensor<3> {
    let len = x.dims()[2];
    let max_pad = left.max(right);
    if max_pad == 0 {
        return x;
    }
    let extension = if len <= max_pad { max_pad - len + 1 } else { 0 };
    let x = if extension > 0 {
        x.pad([(0, extension)], PadMode::Constant(0.0))
    } else {
        x
    };
    let padded = x.pad([(left, right)], PadMode::Reflect);
    let end = padded.dims()[2] - extension;
    padded.narrow(2, 0, end)
}

fn elu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    activation::elu(x, 1.0)
}

/// Residual unit (`encoder.layers.N`): `shortcut(x) + block.3(elu(block.1(elu(x))))`.
#[derive(Module, Debug)]
pub struct EncodecResnetBlock {
    /// `block.1`: kernel `residual_kernel_size`, `dim -> dim / compress`.
    pub block1: EncodecConv1d,
    /// `block.3`: kernel 1, back to `dim`.
    pub block3: EncodecConv1d,
    /// `shortcut`: 1x1 conv (identity if the model has none).
    pub shortcut: Option<EncodecConv1d>,
}

impl EncodecResnetBlock {
    fn load(w: &Weights, c: &EncodecConfig, dim: usize, dilation: usize) -> Result<Self> {
        let hidden = dim / c.compress;
        let causal = c.use_causal_conv;
        let b = w.pp("block");
        Ok(Self {
            block1: EncodecConv1d::load(
                &b.pp(1),
                dim,
                hidden,
                c.residual_kernel_size,
                1,
                dilation,
                causal,
            )?,
            block3: EncodecConv1d::load(&b.pp(3), hidden, dim, 1, 1, 1, causal)?,
            shortcut: if c.use_conv_shortcut {
                Some(EncodecConv1d::load(
                    &w.pp("shortcut"),
                    dim,
                    dim,
                    1,
                    1,
                    1,
                    causal,
                )?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = self
            .block3
            .forward(elu(self.block1.forward(elu(x.clone()))));
        let skip = match &self.shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        skip + h
    }
}

/// One downsampling stage: residual units, ELU, strided conv (`dim -> 2 dim`).
#[derive(Module, Debug)]
pub struct EncodecStage {
    /// The residual units.
    pub residuals: Vec<EncodecResnetBlock>,
    /// The strided conv (kernel `2 * stride`).
    pub downsample: EncodecConv1d,
}

/// One LSTM layer (PyTorch `nn.LSTM` weights, gates in the order i, f, g, o).
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// `weight_ih_lN`, transposed: `[in, 4H]`.
    pub weight_ih: Param<Tensor<2>>,
    /// `weight_hh_lN`, transposed: `[H, 4H]`.
    pub weight_hh: Param<Tensor<2>>,
    /// `bias_ih_lN + bias_hh_lN`: `[4H]`.
    pub bias: Param<Tensor<1>>,
}

impl LstmLayer {
    fn load(w: &Weights, layer: usize, dim: usize) -> Result<Self> {
        let init = Init::FanIn(dim);
        let get2 = |n: &str| w.get(&format!("{n}_l{layer}"), [4 * dim, dim], init);
        let get1 = |n: &str| w.get(&format!("{n}_l{layer}"), [4 * dim], init);
        Ok(Self {
            weight_ih: Param::from_tensor(get2("weight_ih")?.transpose()),
            weight_hh: Param::from_tensor(get2("weight_hh")?.transpose()),
            bias: Param::from_tensor(get1("bias_ih")? + get1("bias_hh")?),
        })
    }

    /// Run over `[B, T, D]` from a zero state.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let hdim = self.weight_hh.dims()[0];
        let device = x.device();
        // Input projections of all steps at once: [B, T, 4H].
        let xp = x.matmul(self.weight_ih.val().unsqueeze::<3>())
            + self.bias.val().reshape([1, 1, 4 * hdim]);
        let whh = self.weight_hh.val();
        let mut h = Tensor::<2>::zeros([b, hdim], &device);
        let mut c = Tensor::<2>::zeros([b, hdim], &device);
        let mut outs = Vec::with_capacity(t);
        for step in 0..t {
            let gates =
                xp.clone().narrow(1, step, 1).reshape([b, 4 * hdim]) + h.matmul(whh.clone());
            let gate = |i: usize| gates.clone().narrow(1, i * hdim, hdim);
            let (i, f, g, o) = (gate(0), gate(1), gate(2), gate(3));
            c = activation::sigmoid(f) * c + activation::sigmoid(i) * g.tanh();
            h = activation::sigmoid(o) * c.clone().tanh();
            outs.push(h.clone().unsqueeze_dim::<3>(1));
        }
        Tensor::cat(outs, 1)
    }
}

/// The LSTM block (`encoder.layers.N.lstm`) with its skip connection.
#[derive(Module, Debug)]
pub struct EncodecLstm {
    /// The stacked layers.
    pub layers: Vec<LstmLayer>,
}

impl EncodecLstm {
    /// `lstm(x) + x` over `[B, C, T]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let seq = x.swap_dims(1, 2);
        let out = self
            .layers
            .iter()
            .fold(seq.clone(), |h, layer| layer.forward(h));
        (out + seq).swap_dims(1, 2)
    }
}

/// The SEANet encoder (`encoder.layers.*`).
#[derive(Module, Debug)]
pub struct EncodecEncoder {
    /// `layers.0`: audio -> `num_filters`.
    pub first: EncodecConv1d,
    /// The downsampling stages.
    pub stages: Vec<EncodecStage>,
    /// The LSTM with skip.
    pub lstm: EncodecLstm,
    /// The last conv (after an ELU) to the latent width.
    pub last: EncodecConv1d,
}

impl EncodecEncoder {
    pub(super) fn load(w: &Weights, c: &EncodecConfig) -> Result<Self> {
        let l = w.pp("layers");
        let causal = c.use_causal_conv;
        let first = EncodecConv1d::load(
            &l.pp(0),
            c.audio_channels,
            c.num_filters,
            c.kernel_size,
            1,
            1,
            causal,
        )?;
        let mut idx = 1;
        let mut dim = c.num_filters;
        let mut stages = Vec::new();
        for &ratio in c.upsampling_ratios.iter().rev() {
            let mut residuals = Vec::new();
            for j in 0..c.num_residual_layers {
                let dilation = c.dilation_growth_rate.pow(j as u32);
                residuals.push(EncodecResnetBlock::load(&l.pp(idx), c, dim, dilation)?);
                idx += 1;
            }
            idx += 1; // ELU
            let downsample =
                EncodecConv1d::load(&l.pp(idx), dim, 2 * dim, 2 * ratio, ratio, 1, causal)?;
            idx += 1;
            stages.push(EncodecStage {
                residuals,
                downsample,
            });
            dim *= 2;
        }
        let lw = l.pp(idx).pp("lstm");
        let lstm = EncodecLstm {
            layers: (0..c.num_lstm_layers)
                .map(|i| LstmLayer::load(&lw, i, dim))
                .collect::<Result<Vec<_>>>()?,
        };
        idx += 2; // LSTM, ELU
        let last = EncodecConv1d::load(
            &l.pp(idx),
            dim,
            c.hidden_size,
            c.last_kernel_size,
            1,
            1,
            causal,
        )?;
        Ok(Self {
            first,
            stages,
            lstm,
            last,
        })
    }

    /// Latent `[B, hidden, ceil(N / hop)]` of audio `[B, 1, N]` (`N >= 1`).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut x = self.first.forward(x);
        for stage in &self.stages {
            for block in &stage.residuals {
                x = block.forward(x);
            }
            x = stage.downsample.forward(elu(x));
        }
        let x = self.lstm.forward(x);
        self.last.forward(elu(x))
    }
}
