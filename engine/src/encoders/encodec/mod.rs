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
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Deserialize;

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::media::resample;
use crate::models::weights::{Init, Weights};

mod quantizer;
mod seanet;

pub use quantizer::ResidualVectorQuantizer;
pub use seanet::{
    EncodecConv1d, EncodecEncoder, EncodecLstm, EncodecResnetBlock, EncodecStage, LstmLayer,
};

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
