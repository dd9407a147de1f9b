//! The small layers every network here is built from, with PyTorch's parameter names and
//! semantics (eps, biased variance, weight layouts), so checkpoints load by name and the
//! numerics match the reference implementations.

use burn::module::{Module, Param};
use burn::tensor::module::{conv1d, conv2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, activation};

use super::kernels;
use super::weights::{Init, StateDict, Weights};
use crate::error::Result;

/// `y = x W^T + b`. The weight is kept transposed (`[in, out]`) so the forward pass needs no
/// copy; checkpoints store `[out, in]` and are transposed once at load.
#[derive(Module, Debug)]
pub struct Linear {
    /// `[in, out]`.
    pub weight: Param<Tensor<2>>,
    /// `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
}

impl Linear {
    /// Load `weight` (`[out, in]`) and, if `bias`, `bias` from `w`.
    pub fn load(w: &Weights, d_in: usize, d_out: usize, bias: bool) -> Result<Self> {
        Self::load_init(w, d_in, d_out, bias, Init::FanIn(d_in))
    }

    /// As [`Linear::load`], with a chosen initialisation for fresh weights (zero-initialised
    /// output projections of adapters).
    pub fn load_init(
        w: &Weights,
        d_in: usize,
        d_out: usize,
        bias: bool,
        init: Init,
    ) -> Result<Self> {
        let weight = w.param_transposed("weight", [d_out, d_in], init)?;
        let bias_init = if init == Init::Zeros {
            Init::Zeros
        } else {
            Init::FanIn(d_in)
        };
        let bias = if bias {
            Some(w.param("bias", [d_out], bias_init)?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    /// Append `prefix.weight` (`[out, in]`, PyTorch layout) and `prefix.bias` to `state`.
    pub fn save(&self, prefix: &str, state: &mut StateDict) {
        state.push((
            format!("{prefix}.weight"),
            self.weight.val().transpose().into_data(),
        ));
        if let Some(b) = &self.bias {
            state.push((format!("{prefix}.bias"), b.val().into_data()));
        }
    }

    /// Apply to the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        burn::tensor::module::linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

/// 2-D convolution (`weight [out, in, k, k]`), square kernel, zero padding.
#[derive(Module, Debug)]
pub struct Conv2d {
    /// `[out, in, k, k]`.
    pub weight: Param<Tensor<4>>,
    /// `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    /// Load a `k x k` convolution.
    pub fn load(
        w: &Weights,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let fan_in = c_in * k * k;
        Ok(Self {
            weight: w.param("weight", [c_out, c_in, k, k], Init::FanIn(fan_in))?,
            bias: Some(w.param("bias", [c_out], Init::FanIn(fan_in))?),
            stride,
            padding,
        })
    }

    /// Load a `k x k` convolution that has no bias (one followed by a batch norm, whose shift
    /// would cancel it).
    pub fn load_without_bias(
        w: &Weights,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [c_out, c_in, k, k], Init::FanIn(c_in * k * k))?,
            bias: None,
            stride,
            padding,
        })
    }

    /// Apply to `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let [_, _, k, _] = self.weight.dims();
        let kernel = match (k, self.stride, self.padding) {
            (3, 1, 1) => Some(kernels::conv3x3 as kernels::ConvKernel),
            (1, 1, 0) => Some(kernels::conv1x1 as kernels::ConvKernel),
            _ => None,
        };
        if let Some(kernel) = kernel.filter(|_| kernels::applies(&device, x.dtype())) {
            let dims = x.dims();
            let [b, _, h, w] = dims;
            let c_out = self.weight.dims()[0];
            let out = kernels::with_values(x, |x| {
                kernels::with_values(self.weight.val(), |weight| match &self.bias {
                    Some(bias) => {
                        kernels::with_values(bias.val(), |bias| kernel(x, dims, weight, Some(bias)))
                    }
                    None => kernel(x, dims, weight, None),
                })
            });
            return kernels::tensor_of(out, [b, c_out, h, w], &device);
        }
        let opts = ConvOptions::new([self.stride; 2], [self.padding; 2], [1, 1], 1);
        conv2d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            opts,
        )
    }
}

/// 1-D convolution with dilation (`weight [out, in, k]`).
#[derive(Module, Debug)]
pub struct Conv1d {
    /// `[out, in, k]`.
    pub weight: Param<Tensor<3>>,
    /// `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    padding: usize,
    dilation: usize,
}

impl Conv1d {
    /// Load a convolution of kernel `k` with "same" padding for the given dilation.
    pub fn load(
        w: &Weights,
        c_in: usize,
        c_out: usize,
        k: usize,
        dilation: usize,
        padding: usize,
    ) -> Result<Self> {
        let fan_in = c_in * k;
        Ok(Self {
            weight: w.param("weight", [c_out, c_in, k], Init::FanIn(fan_in))?,
            bias: Some(w.param("bias", [c_out], Init::FanIn(fan_in))?),
            padding,
            dilation,
        })
    }

    /// Apply to `[B, C, T]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let opts = ConvOptions::new([1], [self.padding], [self.dilation], 1);
        conv1d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            opts,
        )
    }
}

/// Batch normalisation of `[B, C, H, W]` in inference mode: the running statistics from
/// training, not the batch's, so a clip's result does not depend on what it is batched with.
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    /// `[C]` scale.
    pub weight: Param<Tensor<1>>,
    /// `[C]` shift.
    pub bias: Param<Tensor<1>>,
    /// `[C]` mean seen in training.
    pub running_mean: Param<Tensor<1>>,
    /// `[C]` (unbiased) variance seen in training.
    pub running_var: Param<Tensor<1>>,
    eps: f64,
}

impl BatchNorm2d {
    /// Load a batch norm over `channels` (PyTorch's `num_batches_tracked` counter is not read).
    pub fn load(w: &Weights, channels: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [channels], Init::Ones)?,
            bias: w.param("bias", [channels], Init::Zeros)?,
            running_mean: w.param("running_mean", [channels], Init::Zeros)?,
            running_var: w.param("running_var", [channels], Init::Ones)?,
            eps,
        })
    }

    /// `x * a + b` with `a = weight / sqrt(running_var + eps)` and `b = bias - running_mean * a`,
    /// the folded form PyTorch's CPU kernel evaluates.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c = self.weight.dims()[0];
        let scale = self.weight.val() / self.running_var.val().add_scalar(self.eps).sqrt();
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        x * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1])
    }
}

/// Group normalisation over `[B, C, ...]` with a per-channel affine transform.
#[derive(Module, Debug)]
pub struct GroupNorm {
    /// `[C]` scale.
    pub weight: Param<Tensor<1>>,
    /// `[C]` shift.
    pub bias: Param<Tensor<1>>,
    groups: usize,
    eps: f64,
}

impl GroupNorm {
    /// Load a group norm over `channels` in `groups` groups.
    pub fn load(w: &Weights, groups: usize, channels: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [channels], Init::Ones)?,
            bias: w.param("bias", [channels], Init::Zeros)?,
            groups,
            eps,
        })
    }

    /// Normalise `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.apply(x, false)
    }

    /// `silu(self.forward(x))`, the pre-activation of every ResNet convolution, in one kernel
    /// on the CPU.
    pub fn forward_silu(&self, x: Tensor<4>) -> Tensor<4> {
        self.apply(x, true)
    }

    fn apply(&self, x: Tensor<4>, then_silu: bool) -> Tensor<4> {
        let device = x.device();
        if kernels::applies(&device, x.dtype()) {
            let dims = x.dims();
            return with_affine(x, (&self.weight, &self.bias), |x, affine| {
                kernels::group_norm(x, dims, self.groups, self.eps, affine, then_silu)
            });
        }
        let x = self.composed(x);
        if then_silu { silu(x) } else { x }
    }

    /// The layer as burn operations (the GPU, and training).
    fn composed(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let grouped = normalize_last(
            x.reshape([b, self.groups, (c / self.groups) * h * w]),
            self.eps,
        );
        let x = grouped.reshape([b, c, h, w]);
        x * self.weight.val().reshape([1, c, 1, 1]) + self.bias.val().reshape([1, c, 1, 1])
    }
}

/// A normalisation kernel `f` run on the values of `x` and of its `(weight, bias)`, read
/// where they lie; the result has the shape of `x`.
fn with_affine<const D: usize>(
    x: Tensor<D>,
    (weight, bias): (&Param<Tensor<1>>, &Param<Tensor<1>>),
    f: impl FnOnce(&[f32], (&[f32], &[f32])) -> Vec<f32>,
) -> Tensor<D> {
    let (device, dims) = (x.device(), x.dims());
    let out = kernels::with_values(x, |x| {
        kernels::with_values(weight.val(), |weight| {
            kernels::with_values(bias.val(), |bias| f(x, (weight, bias)))
        })
    });
    kernels::tensor_of(out, dims, &device)
}

/// `(x - mean) / sqrt(var + eps)` over the last dimension (biased variance, as PyTorch).
fn normalize_last<const D: usize>(x: Tensor<D>, eps: f64) -> Tensor<D> {
    let mean = x.clone().mean_dim(D - 1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(D - 1);
    centred / var.add_scalar(eps).sqrt()
}

/// Layer normalisation over the last dimension.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// `[D]` scale.
    pub weight: Param<Tensor<1>>,
    /// `[D]` shift.
    pub bias: Param<Tensor<1>>,
    eps: f64,
}

impl LayerNorm {
    /// Load a layer norm over `dim` features.
    pub fn load(w: &Weights, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [dim], Init::Ones)?,
            bias: w.param("bias", [dim], Init::Zeros)?,
            eps,
        })
    }

    /// Append `prefix.weight` and `prefix.bias` to `state`.
    pub fn save(&self, prefix: &str, state: &mut StateDict) {
        state.push((format!("{prefix}.weight"), self.weight.val().into_data()));
        state.push((format!("{prefix}.bias"), self.bias.val().into_data()));
    }

    /// Normalise the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if kernels::applies(&device, x.dtype()) {
            return with_affine(x, (&self.weight, &self.bias), |x, affine| {
                kernels::layer_norm(x, self.eps, affine)
            });
        }
        let x = normalize_last(x, self.eps);
        x * self.weight.val().unsqueeze() + self.bias.val().unsqueeze()
    }
}

/// Root-mean-square normalisation (Zhang and Sennrich, 2019): scale only, no centring.
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// `[D]` scale.
    pub weight: Param<Tensor<1>>,
    eps: f64,
}

impl RmsNorm {
    /// Load an RMS norm over `dim` features.
    pub fn load(w: &Weights, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [dim], Init::Ones)?,
            eps,
        })
    }

    /// Append `prefix.weight` to `state`.
    pub fn save(&self, prefix: &str, state: &mut StateDict) {
        state.push((format!("{prefix}.weight"), self.weight.val().into_data()));
    }

    /// Normalise the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let ms = x.clone().square().mean_dim(D - 1);
        x / ms.add_scalar(self.eps).sqrt() * self.weight.val().unsqueeze()
    }
}

/// SiLU (swish), as diffusers' default activation.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if kernels::applies(&device, x.dtype()) {
        let (mut values, dims) = kernels::take_values(x);
        kernels::silu_in_place(&mut values);
        return kernels::tensor_of(values, dims, &device);
    }
    activation::silu(x)
}

/// Exact (erf) GELU, as PyTorch's default.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    activation::gelu(x)
}

/// Tanh-approximated GELU (transformers' `gelu_new`, PyTorch's `approximate="tanh"`).
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    activation::gelu_approximate(x)
}

/// QuickGELU, `x * sigmoid(1.702 x)` (OpenAI CLIP).
pub fn quick_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone() * activation::sigmoid(x.mul_scalar(1.702))
}
