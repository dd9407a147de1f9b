//! EnCodec ("High Fidelity Neural Audio Compression", Défossez et al. 2022), 24 kHz model:
//! the SEANet encoder and the residual vector quantizer, in transformers' `EncodecModel`
//! layout. Reference audio becomes discrete tokens; the sum of the first `k` codebook
//! embeddings (a coarse-to-fine summary: 1, 2, 4 or 8 codebooks) conditions the U-Net.
//!
//! Encoder: a causal conv, then per stage a residual unit (`shortcut(x) +
//! conv_k1(elu(conv_k3(elu(x))))`) and an ELU + strided downsampling conv (strides 2, 4, 5, 8:
//! one frame per 320 samples, 75 Hz), a two-layer LSTM with a skip connection, ELU and a last
//! conv to the latent width. Every conv is weight-normalised (`w = g * v / ||v||` per output
//! channel; both the `parametrizations.weight.original0/1` and the older `weight_g`/`weight_v`
//! names load) and causal with reflect padding. The quantizer encodes greedily: each codebook
//! takes the nearest codeword to the residual left by the ones before it; the number of
//! codebooks follows from the bandwidth.

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::tensor::module::conv1d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Int, Tensor, TensorData, activation};
use serde::Deserialize;

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::media::resample;
use crate::models::weights::{Init, Weights};

/// Sample rate of the 24 kHz model.
pub const SAMPLE_RATE: u32 = 24_000;

/// `EncodecConfig` (`config.json`); the fields the encoder and quantizer use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EncodecConfig {
    /// Bandwidths in kbps the model was trained for.
    pub target_bandwidths: Vec<f64>,
    /// Sample rate in Hz.
    pub sampling_rate: u32,
    /// Input channels (1 for the 24 kHz model).
    pub audio_channels: usize,
    /// Whether the input is scaled by its RMS first (only `false` is supported).
    #[serde(default)]
    pub normalize: bool,
    /// Chunked encoding (only unchunked, `null`, is supported).
    #[serde(default)]
    pub chunk_length_s: Option<f64>,
    /// Latent width.
    pub hidden_size: usize,
    /// Channels of the first conv.
    pub num_filters: usize,
    /// Residual units per stage.
    pub num_residual_layers: usize,
    /// Decoder upsampling ratios; the encoder downsamples by them in reverse.
    pub upsampling_ratios: Vec<usize>,
    /// Normalisation of the convs (only `weight_norm` is supported).
    pub norm_type: String,
    /// Kernel of the first conv.
    pub kernel_size: usize,
    /// Kernel of the last conv.
    pub last_kernel_size: usize,
    /// Kernel of the residual units' first conv.
    pub residual_kernel_size: usize,
    /// Dilation growth between residual units.
    pub dilation_growth_rate: usize,
    /// Causal (left) padding.
    pub use_causal_conv: bool,
    /// Padding mode (only `reflect` is supported).
    pub pad_mode: String,
    /// Channel reduction inside the residual units.
    pub compress: usize,
    /// LSTM layers.
    pub num_lstm_layers: usize,
    /// Codewords per codebook.
    pub codebook_size: usize,
    /// Codeword width (defaults to the latent width).
    #[serde(default)]
    pub codebook_dim: Option<usize>,
    /// Whether the residual units have a 1x1 conv shortcut (else identity).
    #[serde(default = "yes")]
    pub use_conv_shortcut: bool,
}

fn yes() -> bool {
    true
}

impl EncodecConfig {
    /// facebook/encodec_24khz.
    pub fn encodec_24khz() -> Self {
        Self {
            target_bandwidths: vec![1.5, 3.0, 6.0, 12.0, 24.0],
            sampling_rate: SAMPLE_RATE,
            audio_channels: 1,
            normalize: false,
            chunk_length_s: None,
            hidden_size: 128,
            num_filters: 32,
            num_residual_layers: 1,
            upsampling_ratios: vec![8, 5, 4, 2],
            norm_type: "weight_norm".into(),
            kernel_size: 7,
            last_kernel_size: 7,
            residual_kernel_size: 3,
            dilation_growth_rate: 2,
            use_causal_conv: true,
            pad_mode: "reflect".into(),
            compress: 2,
            num_lstm_layers: 2,
            codebook_size: 1024,
            codebook_dim: Some(128),
            use_conv_shortcut: true,
        }
    }

    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid EnCodec config: {e}")))?;
        cfg.validate().map_err(|m| Error::media(path, m))?;
        Ok(cfg)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.norm_type != "weight_norm" {
            return Err(format!("unsupported norm type `{}`", self.norm_type));
        }
        if self.pad_mode != "reflect" {
            return Err(format!("unsupported padding mode `{}`", self.pad_mode));
        }
        if self.normalize || self.chunk_length_s.is_some() {
            return Err("input normalisation and chunking are not supported".into());
        }
        if self.audio_channels != 1 {
            return Err("only mono models are supported".into());
        }
        if self.target_bandwidths.is_empty()
            || self.upsampling_ratios.is_empty()
            || self.upsampling_ratios.contains(&0)
            || self.codebook_size < 2
            || self.compress == 0
            || self.sampling_rate == 0
        {
            return Err("invalid EnCodec configuration".into());
        }
        Ok(())
    }

    /// Samples per latent frame (320).
    pub fn hop_length(&self) -> usize {
        self.upsampling_ratios.iter().product()
    }

    /// Latent frames per second, `ceil(rate / hop)` (75).
    pub fn frame_rate(&self) -> usize {
        (self.sampling_rate as usize).div_ceil(self.hop_length())
    }

    /// Codebooks in the model (32 for 24 kHz: enough for the largest bandwidth).
    pub fn num_quantizers(&self) -> usize {
        let top = self.target_bandwidths.iter().copied().fold(0.0, f64::max);
        (1000.0 * top / (self.frame_rate() * 10) as f64).floor() as usize
    }

    /// Codebooks used at `bandwidth` kbps: `max(1, floor(bw * 1000 / (log2(size) *
    /// frame_rate)))` (2, 4, 8, 16, 32 for 1.5 ... 24 kbps). The bandwidth must be one of
    /// `target_bandwidths`.
    pub fn num_quantizers_for_bandwidth(&self, bandwidth: f64) -> Result<usize> {
        if !self.target_bandwidths.contains(&bandwidth) {
            return Err(Error::invalid(format!(
                "bandwidth {bandwidth} kbps is not one of the model's {:?}",
                self.target_bandwidths
            )));
        }
        let per_q = (self.codebook_size as f64).log2() * self.frame_rate() as f64;
        Ok(((bandwidth * 1000.0 / per_q).floor() as usize).max(1))
    }

    /// Width of one codeword (the embedding the audio adapter reads).
    pub fn codeword_dim(&self) -> usize {
        self.codebook_dim.unwrap_or(self.hidden_size)
    }
}

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
    fn load(w: &Weights, c: &EncodecConfig) -> Result<Self> {
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

/// EnCodec's encoder and quantizer.
#[derive(Module, Debug)]
pub struct Encodec {
    /// `encoder.*`.
    pub encoder: EncodecEncoder,
    /// `quantizer.*`.
    pub quantizer: ResidualVectorQuantizer,
    #[module(skip)]
    config: EncodecConfig,
}

impl Encodec {
    /// Load from `w` (an `EncodecModel` file: the decoder and the quantizer's training
    /// buffers `embed_avg`, `cluster_size`, `inited` are left unread).
    pub fn load(cfg: &EncodecConfig, w: &Weights) -> Result<Self> {
        cfg.validate().map_err(Error::invalid)?;
        let n = cfg.num_quantizers();
        let (size, dim) = (cfg.codebook_size, cfg.codeword_dim());
        if dim != cfg.hidden_size {
            return Err(Error::invalid(
                "codebook width differs from the latent width (projected codebooks are not supported)",
            ));
        }
        let q = w.pp("quantizer").pp("layers");
        let model = Self {
            encoder: EncodecEncoder::load(&w.pp("encoder"), cfg)?,
            quantizer: ResidualVectorQuantizer {
                codebooks: (0..n)
                    .map(|i| {
                        let e = q
                            .pp(i)
                            .pp("codebook")
                            .get("embed", [size, dim], Init::Normal(1.0));
                        e.map(Param::from_tensor)
                    })
                    .collect::<Result<Vec<_>>>()?,
            },
            config: cfg.clone(),
        };
        let unused: Vec<String> = (0..n)
            .flat_map(|i| {
                ["embed_avg", "cluster_size", "inited"]
                    .map(|b| format!("quantizer.layers.{i}.codebook.{b}"))
            })
            .chain(["decoder.".to_string()])
            .collect();
        let unused: Vec<&str> = unused.iter().map(String::as_str).collect();
        w.finish_except(&unused)?;
        Ok(model)
    }

    /// Load from a directory with `config.json` and `model.safetensors`.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::media(dir, "audio encoder directory does not exist"));
        }
        let cfg = EncodecConfig::from_file(&dir.join("config.json"))?;
        Self::from_files(&cfg, &[dir.join("model.safetensors")], device)
    }

    /// Load from safetensors `files`.
    pub fn from_files(cfg: &EncodecConfig, files: &[PathBuf], device: &Device) -> Result<Self> {
        Self::load(cfg, &Weights::from_files(files, device)?)
    }

    /// The configuration.
    pub fn config(&self) -> &EncodecConfig {
        &self.config
    }

    /// Codebooks available.
    pub fn num_codebooks(&self) -> usize {
        self.quantizer.codebooks.len()
    }

    /// The encoder's latent `[B, hidden, frames]` of mono 24 kHz audio `[B, 1, N]`, one frame
    /// per 320 samples (rounded up). No clips or no samples is an [`Error::InvalidInput`].
    pub fn encode_latent(&self, waveform: Tensor<3>) -> Result<Tensor<3>> {
        let [b, c, n] = waveform.dims();
        if b == 0 || n == 0 {
            return Err(Error::invalid(format!(
                "{b} clips of {n} samples: no audio to encode"
            )));
        }
        if c != self.config.audio_channels {
            return Err(Error::invalid(format!(
                "audio has {c} channels, the audio encoder takes {}",
                self.config.audio_channels
            )));
        }
        Ok(self.encoder.forward(waveform))
    }

    /// Codes `[B, n_q, frames]` at `bandwidth` kbps (one of the model's target bandwidths;
    /// 6 kbps = 8 codebooks).
    pub fn codes(&self, waveform: Tensor<3>, bandwidth: f64) -> Result<Tensor<3, Int>> {
        let n_q = self.config.num_quantizers_for_bandwidth(bandwidth)?;
        Ok(self.quantizer.encode(self.encode_latent(waveform)?, n_q))
    }

    /// The audio conditioning tokens: the sum of the first `k` codebooks' embeddings of the
    /// clip's codes, laid out time-major `[B, frames, D]` so that the frames are the tokens a
    /// cross-attention reads (AvSync uses k = 1, 2, 4 or 8). `k` must be within
    /// `1..=num_codebooks`.
    pub fn embedding(&self, waveform: Tensor<3>, k: usize) -> Result<Tensor<3>> {
        if k == 0 || k > self.num_codebooks() {
            return Err(Error::invalid(format!(
                "{k} codebooks requested, the audio encoder has 1 to {}",
                self.num_codebooks()
            )));
        }
        let codes = self.quantizer.encode(self.encode_latent(waveform)?, k);
        Ok(self.quantizer.embed_sum(codes, k))
    }
}

/// Reference audio as the 24 kHz encoder takes it: `[1, 1, window]`.
///
/// Any rate and channel count: the channels are averaged to mono, resampled to 24 kHz with
/// [`resample`], and the start of the clip kept: cut to `window` samples, or zero-padded at
/// the end to that length. Non-finite samples become 0. Silence (or a clip of a single sample)
/// is valid and gives the encoding of silence (or of that sample followed by zeros); an empty
/// clip, no channels, a zero sample rate or a zero window is an [`Error::InvalidInput`].
pub fn prepare_reference_audio(
    audio: &AudioBuffer,
    window: usize,
    device: &Device,
) -> Result<Tensor<3>> {
    if window == 0 {
        return Err(Error::invalid(
            "the reference audio window must be positive",
        ));
    }
    if audio.channels == 0 || audio.sample_rate == 0 {
        return Err(Error::invalid(format!(
            "reference audio has {} channels at {} Hz",
            audio.channels, audio.sample_rate
        )));
    }
    if audio.frames() == 0 {
        return Err(Error::invalid("reference audio is empty"));
    }
    let mono: Vec<f32> = audio
        .to_mono()
        .into_iter()
        .map(|s| if s.is_finite() { s } else { 0.0 })
        .collect();
    let mono = AudioBuffer::new(audio.sample_rate, 1, mono);
    let mut samples = resample(&mono, SAMPLE_RATE, 1)?.samples;
    samples.resize(window, 0.0);
    Ok(Tensor::from_data(
        TensorData::new(samples, [1, 1, window]),
        device,
    ))
}
