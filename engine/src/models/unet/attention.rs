//! Multi-head attention as diffusers' `Attention` (`to_q`, `to_k`, `to_v`, `to_out.0`),
//! with the AvSync extension of the text cross-attention: IP-Adapter style decoupled
//! key/value projections for the global video tokens (paper eq. 1), sharing the query.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use crate::error::Result;
use crate::models::kernels;
use crate::models::nn::Linear;
use crate::models::weights::{Init, Weights};

/// Scaled dot-product attention over `[B, heads, L, d]` tensors with an optional additive
/// bias broadcastable to `[B, heads, Lq, Lk]`. On the CPU kernels the result is a view of
/// `[B, Lq, heads, d]`, so `merge_heads` of it is free.
pub fn sdpa(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Option<Tensor<4>>) -> Tensor<4> {
    let bias = bias.map(|b| {
        let [bq, hq, lq, _] = q.dims();
        let lk = k.dims()[2];
        let [bb, hb, qb, kb] = b.dims();
        if [bb, hb, qb, kb] == [bq, hq, lq, lk] {
            b
        } else {
            b.expand([bq, hq, lq, lk])
        }
    });
    let device = q.device();
    let same_dtype = [k.dtype(), v.dtype()]
        .into_iter()
        .chain(bias.as_ref().map(|b| b.dtype()))
        .all(|dtype| dtype == q.dtype());
    if same_dtype && kernels::applies(&device, q.dtype()) {
        let [b, heads, lq, d] = q.dims();
        let dv = v.dims()[3];
        let (q, k, v) = (
            kernels::flex_of(q),
            kernels::flex_of(k),
            kernels::flex_of(v),
        );
        let bias = bias.map(kernels::flex_of);
        let out = kernels::attention(
            kernels::heads_of(&q),
            kernels::heads_of(&k),
            kernels::heads_of(&v),
            bias.as_ref().map(kernels::heads_of),
            1.0 / (d as f32).sqrt(),
        );
        return kernels::tensor_of(out, [b, lq, heads, dv], &device).swap_dims(1, 2);
    }
    attention(q, k, v, None, bias, AttentionModuleOptions::default())
}

/// `[B, L, heads * d] -> [B, heads, L, d]`.
pub fn split_heads(x: Tensor<3>, heads: usize) -> Tensor<4> {
    let [b, l, c] = x.dims();
    x.reshape([b, l, heads, c / heads]).swap_dims(1, 2)
}

/// `[B, heads, L, d] -> [B, L, heads * d]`.
pub fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [b, h, l, d] = x.dims();
    x.swap_dims(1, 2).reshape([b, l, h * d])
}

/// Keys and values of one attention over a context, split into heads (`[B, heads, L, d]`
/// each). A condition's are the same at every denoising step, so they are projected once.
#[derive(Debug, Clone)]
pub struct KeyValues {
    /// Keys.
    pub k: Tensor<4>,
    /// Values.
    pub v: Tensor<4>,
}

impl KeyValues {
    /// Apply `f` to both tensors (batch rearrangements).
    pub fn map(&self, f: impl Fn(&Tensor<4>) -> Tensor<4>) -> Self {
        Self {
            k: f(&self.k),
            v: f(&self.v),
        }
    }
}

/// One attention layer (self- or cross-attention).
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection (no bias).
    pub to_q: Linear,
    /// Key projection (no bias).
    pub to_k: Linear,
    /// Value projection (no bias).
    pub to_v: Linear,
    /// Output projection (`to_out.0`, with bias).
    pub to_out: Linear,
    /// Decoupled key projection for video tokens (AvSync adapter).
    pub to_k_video: Option<Linear>,
    /// Decoupled value projection for video tokens (AvSync adapter).
    pub to_v_video: Option<Linear>,
    heads: usize,
}

impl Attention {
    /// Load from `w`: queries from `query_dim`, keys and values from `context_dim`, with
    /// `heads` heads of `head_dim`. With `out_init = Init::Zeros` a fresh layer starts as a
    /// no-op (the adapters' zero-initialised output).
    pub fn load(
        w: &Weights,
        query_dim: usize,
        context_dim: usize,
        heads: usize,
        head_dim: usize,
        out_init: Option<Init>,
    ) -> Result<Self> {
        let inner = heads * head_dim;
        let out = w.pp("to_out").pp(0);
        Ok(Self {
            to_q: Linear::load(&w.pp("to_q"), query_dim, inner, false)?,
            to_k: Linear::load(&w.pp("to_k"), context_dim, inner, false)?,
            to_v: Linear::load(&w.pp("to_v"), context_dim, inner, false)?,
            to_out: match out_init {
                Some(init) => Linear::load_init(&out, inner, query_dim, true, init)?,
                None => Linear::load(&out, inner, query_dim, true)?,
            },
            to_k_video: None,
            to_v_video: None,
            heads,
        })
    }

    /// Add the decoupled video key/value projections, read from the adapter weights `w`.
    pub fn with_video(mut self, w: &Weights, context_dim: usize) -> Result<Self> {
        let inner = self.to_q.weight.dims()[1];
        self.to_k_video = Some(Linear::load(
            &w.pp("to_k_video"),
            context_dim,
            inner,
            false,
        )?);
        self.to_v_video = Some(Linear::load(
            &w.pp("to_v_video"),
            context_dim,
            inner,
            false,
        )?);
        Ok(self)
    }

    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Project and split the query.
    pub fn query(&self, x: Tensor<3>) -> Tensor<4> {
        split_heads(self.to_q.forward(x), self.heads)
    }

    /// Project and split keys and values of `context`.
    pub fn keys_values(&self, context: &Tensor<3>) -> KeyValues {
        KeyValues {
            k: split_heads(self.to_k.forward(context.clone()), self.heads),
            v: split_heads(self.to_v.forward(context.clone()), self.heads),
        }
    }

    /// Keys and values of the global video tokens through the decoupled projections, when
    /// this layer has them.
    pub fn video_keys_values(&self, tokens: &Tensor<3>) -> Option<KeyValues> {
        let (kp, vp) = (self.to_k_video.as_ref()?, self.to_v_video.as_ref()?);
        Some(KeyValues {
            k: split_heads(kp.forward(tokens.clone()), self.heads),
            v: split_heads(vp.forward(tokens.clone()), self.heads),
        })
    }

    /// Self-attention of `x`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let context = self.keys_values(&x);
        self.attend(x, &context, None, None)
    }

    /// Attention of `x` over projected `context`, with an additive `bias` on its keys and,
    /// when given, the decoupled video term (its keys and values, and its strength) added
    /// before the output projection (paper eq. 1).
    pub fn attend(
        &self,
        x: Tensor<3>,
        context: &KeyValues,
        bias: Option<Tensor<4>>,
        video: Option<(&KeyValues, f64)>,
    ) -> Tensor<3> {
        let q = self.query(x);
        let mut out = sdpa(q.clone(), context.k.clone(), context.v.clone(), bias);
        if let Some((video, scale)) = video {
            out = out + sdpa(q, video.k.clone(), video.v.clone(), None).mul_scalar(scale);
        }
        self.to_out.forward(merge_heads(out))
    }
}
