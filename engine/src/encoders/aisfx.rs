//! aiSFX sound-effects embeddings (Ma and Lerch, "Representation Learning for the Automatic
//! Indexing of Sound Effects Libraries", ISMIR 2022; PyPI package `aisfx` 0.1.2): a 512-wide
//! description of what a sound is, trained across sound-effects libraries, for comparing and
//! retrieving Foley.
//!
//! The front end is the package's librosa variant (`spectrogram_librosa.compute_spectrogram`)
//! on 44.1 kHz mono samples: peak normalisation, a power mel spectrogram (n_fft 2048, hop 1024,
//! centred frames with zero padding, 96 HTK-scale bands over 0-22.05 kHz with L1-normalised
//! filters), `log10(10000 x + 1)`, and the package's 'original' min-max scaling (divide by
//! 9.4578). The spectrogram is cut into 100-frame blocks (about 2.3 s) every 50 frames; a
//! trailing partial block is dropped, and a clip shorter than one block gives one zero-padded
//! block (`preprocessing.blocking`; the package's `inference` refuses clips of 50 frames or
//! fewer, under 1.2 s, which here also give one padded block).
//!
//! The network is the package's `EmbeddingNet` (the DCASE cross-task baseline
//! `Cnn_9layers`): four blocks of two bias-free 3x3 convolutions with batch norm and ReLU,
//! 2x2 max pooling after the first three, then the mean over frequency and the maximum over
//! time. One embedding per block; a clip's embedding is the mean of its blocks' embeddings
//! (the package stops at one embedding per block). The shipped weights are float16: against
//! the package's float32 checkpoint they move embeddings by at most 0.11 % of the largest
//! value (cosine similarity above 0.999999).

use std::path::Path;

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

use crate::audio::AudioBuffer;
use crate::dsp::mel::{MelFilterbank, MelNorm, MelScale, MelSpectrogram};
use crate::dsp::stft::{PadMode, Stft, StftConfig};
use crate::error::{Error, Result};
use crate::models::nn::{BatchNorm2d, Conv2d};
use crate::models::weights::Weights;

/// Sample rate the network was trained at; other rates are resampled to it.
pub const SAMPLE_RATE: u32 = 44_100;

/// Most blocks run through the network at once. The first conv block's feature maps alone
/// take 2.5 MB per block, several of them alive at a time, so this bounds memory for long
/// clips while still batching.
pub const BATCH_BLOCKS: usize = 8;

/// Key prefix of the network in the package's own checkpoint (`CrossNet.embedding_net`).
const CHECKPOINT_PREFIX: &str = "embedding_net";

/// The network width and the front end the embeddings were trained with (`config.json` of
/// the model directory; missing fields take the published values).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct AisfxConfig {
    /// Channels of the first conv block; the following blocks double it (64: 512-wide
    /// embeddings).
    pub hl1: usize,
    /// Sample rate of the input in Hz.
    pub sample_rate: u32,
    /// FFT size in samples.
    pub n_fft: usize,
    /// Hann window length in samples.
    pub win_length: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Mel bands.
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    pub fmin: f64,
    /// Highest filter edge in Hz.
    pub fmax: f64,
    /// Mel scale of the filterbank.
    pub mel_scale: MelScale,
    /// Normalisation of the filters.
    pub mel_norm: MelNorm,
    /// Log-mel value mapped to 0.
    pub spec_min: f64,
    /// Log-mel value mapped to 1 (the maximum over the training sets' Essentia spectrograms).
    pub spec_max: f64,
    /// Frames per block.
    pub block: usize,
    /// Frames between block starts.
    pub block_hop: usize,
    /// Batch-norm epsilon.
    pub batch_norm_eps: f64,
}

impl Default for AisfxConfig {
    /// The published model (`aisfx.inference`, X-Sequential-CE).
    fn default() -> Self {
        Self {
            hl1: 64,
            sample_rate: SAMPLE_RATE,
            n_fft: 2048,
            win_length: 2048,
            hop_length: 1024,
            n_mels: 96,
            fmin: 0.0,
            fmax: 22050.0,
            mel_scale: MelScale::Htk,
            mel_norm: MelNorm::L1,
            spec_min: 0.0,
            spec_max: 9.457798957824707,
            block: 100,
            block_hop: 50,
            batch_norm_eps: 1e-5,
        }
    }
}

impl AisfxConfig {
    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid aiSFX config: {e}")))?;
        cfg.validate().map_err(|m| Error::media(path, m))?;
        Ok(cfg)
    }

    /// Width of the embeddings (the last conv block's channels).
    pub fn embedding_dim(&self) -> usize {
        self.hl1 * 8
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.hl1 == 0 || self.sample_rate == 0 || self.hop_length == 0 || self.block_hop == 0 {
            return Err("hl1, sample_rate, hop_length and block_hop must be positive".into());
        }
        // Three 2x2 poolings must leave at least one row and column.
        if self.block < 8 || self.n_mels < 8 {
            return Err(format!(
                "blocks of {} frames x {} bands are too small for three 2x2 poolings",
                self.block, self.n_mels
            ));
        }
        if !(self.spec_max > self.spec_min) || !(self.batch_norm_eps > 0.0) {
            return Err("needs spec_max > spec_min and batch_norm_eps > 0".into());
        }
        Ok(())
    }
}

/// Samples to normalised log-mel spectrograms and network blocks.
#[derive(Debug, Clone)]
pub struct AisfxFrontEnd {
    config: AisfxConfig,
    stft: Stft,
    filterbank: MelFilterbank,
}

impl AisfxFrontEnd {
    /// Plan the STFT (centred, zero padding: librosa's default) and build the filterbank.
    pub fn new(config: &AisfxConfig) -> Result<Self> {
        config.validate().map_err(Error::invalid)?;
        let stft = Stft::new(StftConfig {
            n_fft: config.n_fft,
            hop_length: config.hop_length,
            win_length: config.win_length,
            center: true,
            pad_mode: PadMode::Zero,
        })?;
        let filterbank = MelFilterbank::with_options(
            config.sample_rate as f64,
            config.n_fft,
            config.n_mels,
            config.fmin,
            config.fmax,
            config.mel_scale,
            config.mel_norm,
        )?;
        Ok(Self {
            config: config.clone(),
            stft,
            filterbank,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AisfxConfig {
        &self.config
    }

    /// The mel filterbank.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.filterbank
    }

    /// The network input of mono `samples` at the configured rate, frame-major (`(T, 96)`):
    /// `(log10(10000 mel + 1) - spec_min) / (spec_max - spec_min)` of the power mel spectrogram
    /// of the peak-normalised samples. Digital silence is left as it is (all zeros).
    pub fn spectrogram(&self, samples: &[f32]) -> Result<MelSpectrogram> {
        if samples.is_empty() {
            return Err(Error::invalid("aiSFX: empty audio"));
        }
        if samples.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid(
                "aiSFX: audio contains NaN or infinite samples",
            ));
        }
        // Like the package: the division is in float32, and silence divides by one.
        let peak = samples.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let peak = if peak == 0.0 { 1.0 } else { peak };
        let normalised: Vec<f32> = samples.iter().map(|&x| x / peak).collect();
        let power = self.stft.power(&normalised)?;
        let mel = self.filterbank.apply_spectrogram(&power)?;
        let (lo, range) = (
            self.config.spec_min,
            self.config.spec_max - self.config.spec_min,
        );
        Ok(MelSpectrogram {
            n_mels: self.config.n_mels,
            n_frames: power.n_frames,
            hop_seconds: self.config.hop_length as f64 / self.config.sample_rate as f64,
            data: mel
                .into_iter()
                .map(|v| (((v * 10000.0 + 1.0).log10() - lo) / range) as f32)
                .collect(),
        })
    }

    /// Blocks a spectrogram of `n_frames` frames is cut into: one per `block_hop` frames while a
    /// whole block fits, and one (zero-padded) when not even one does.
    pub fn block_count(&self, n_frames: usize) -> usize {
        let (block, hop) = (self.config.block, self.config.block_hop);
        if n_frames < block {
            1
        } else {
            (n_frames - block) / hop + 1
        }
    }

    /// The blocks of `spec`, `[block][frame][mel]` (`block_count * block * n_mels` values),
    /// frames past the end zero.
    pub fn blocks(&self, spec: &MelSpectrogram) -> Result<Vec<f32>> {
        let (block, hop, n_mels) = (self.config.block, self.config.block_hop, self.config.n_mels);
        if spec.n_mels != n_mels || spec.data.len() != spec.n_frames * n_mels {
            return Err(Error::invalid(format!(
                "aiSFX: expected a spectrogram of {n_mels} bands, got {} x {} with {} values",
                spec.n_frames,
                spec.n_mels,
                spec.data.len()
            )));
        }
        let count = self.block_count(spec.n_frames);
        let mut out = vec![0.0; count * block * n_mels];
        for (b, dst) in out.chunks_exact_mut(block * n_mels).enumerate() {
            let start = (b * hop).min(spec.n_frames);
            let end = (b * hop + block).min(spec.n_frames);
            let src = &spec.data[start * n_mels..end * n_mels];
            dst[..src.len()].copy_from_slice(src);
        }
        Ok(out)
    }
}

/// Two 3x3 convolutions, each followed by batch norm and ReLU, then max pooling
/// (`cnn2d.ConvBlock`).
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// `conv1` (no bias).
    pub conv1: Conv2d,
    /// `bn1`.
    pub bn1: BatchNorm2d,
    /// `conv2` (no bias).
    pub conv2: Conv2d,
    /// `bn2`.
    pub bn2: BatchNorm2d,
    /// Pooling kernel and stride (1: none).
    pool: usize,
}

impl ConvBlock {
    /// Load `conv1`, `bn1`, `conv2`, `bn2` under `w`.
    pub fn load(w: &Weights, c_in: usize, c_out: usize, pool: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            conv1: Conv2d::load_without_bias(&w.pp("conv1"), c_in, c_out, 3, 1, 1)?,
            bn1: BatchNorm2d::load(&w.pp("bn1"), c_out, eps)?,
            conv2: Conv2d::load_without_bias(&w.pp("conv2"), c_out, c_out, 3, 1, 1)?,
            bn2: BatchNorm2d::load(&w.pp("bn2"), c_out, eps)?,
            pool,
        })
    }

    /// `[B, C_in, T, F]` to `[B, C_out, T / pool, F / pool]` (floored, as PyTorch).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(self.bn1.forward(self.conv1.forward(x)));
        let x = relu(self.bn2.forward(self.conv2.forward(x)));
        if self.pool > 1 {
            max_pool2d(x, MaxPoolOptions::new([self.pool; 2]))
        } else {
            x
        }
    }
}

/// The embedding network (`cnn2d.EmbeddingNet('max', 3, 1, hl1)`).
#[derive(Module, Debug)]
pub struct AisfxNet {
    /// `conv_block1` .. `conv_block4`.
    pub conv_blocks: Vec<ConvBlock>,
}

impl AisfxNet {
    /// Load `conv_block1` .. `conv_block4` under `w`.
    pub fn load(w: &Weights, hl1: usize, eps: f64) -> Result<Self> {
        let widths = [1, hl1, hl1 * 2, hl1 * 4, hl1 * 8];
        let conv_blocks = (0..4)
            .map(|i| {
                let pool = if i < 3 { 2 } else { 1 };
                let wb = w.pp(format!("conv_block{}", i + 1));
                ConvBlock::load(&wb, widths[i], widths[i + 1], pool, eps)
            })
            .collect::<Result<_>>()?;
        Ok(Self { conv_blocks })
    }

    /// Blocks `[B, T, F]` to embeddings `[B, 8 hl1]`: the conv blocks, then the mean over
    /// frequency and the maximum over time.
    pub fn forward(&self, blocks: Tensor<3>) -> Tensor<2> {
        let mut x = blocks.unsqueeze_dim::<4>(1);
        for block in &self.conv_blocks {
            x = block.forward(x);
        }
        let [b, c, _, _] = x.dims();
        x.mean_dim(3).max_dim(2).reshape([b, c])
    }
}

/// The aiSFX encoder: front end and network.
pub struct Aisfx {
    /// The network.
    pub net: AisfxNet,
    /// Samples to blocks.
    pub front_end: AisfxFrontEnd,
    device: Device,
}

impl Aisfx {
    /// Load the network from `w`: keys `conv_block1.conv1.weight`, ... as
    /// `scripts/convert_aisfx.py` writes them, or the package checkpoint's
    /// `embedding_net.conv_block1.conv1.weight`, ... (whose classifier heads `fc.*` and
    /// `num_batches_tracked` counters are ignored).
    pub fn load(config: &AisfxConfig, w: &Weights) -> Result<Self> {
        let front_end = AisfxFrontEnd::new(config)?;
        let first = "conv_block1.conv1.weight";
        let w = if !w.contains(first) && w.contains(&format!("{CHECKPOINT_PREFIX}.{first}")) {
            w.pp(CHECKPOINT_PREFIX)
        } else {
            w.clone()
        };
        let net = AisfxNet::load(&w, config.hl1, config.batch_norm_eps)?;
        let counters: Vec<String> = (1..=4)
            .flat_map(|b| (1..=2).map(move |n| format!("conv_block{b}.bn{n}.num_batches_tracked")))
            .collect();
        w.finish_except(&counters.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(Self {
            net,
            front_end,
            device: w.device().clone(),
        })
    }

    /// Load from a directory with `config.json` and `model.safetensors`
    /// (`assets/models/aisfx/`).
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::media(dir, "aiSFX model directory does not exist"));
        }
        let config = AisfxConfig::from_file(&dir.join("config.json"))?;
        let w = Weights::from_files(&[dir.join("model.safetensors")], device)?;
        Self::load(&config, &w)
    }

    /// The configuration.
    pub fn config(&self) -> &AisfxConfig {
        self.front_end.config()
    }

    /// Width of the embeddings (512).
    pub fn embedding_dim(&self) -> usize {
        self.config().embedding_dim()
    }

    /// Embeddings `[B, 512]` of spectrogram blocks `[B, block, n_mels]` (`[B, 100, 96]`).
    pub fn embed_blocks(&self, blocks: Tensor<3>) -> Result<Tensor<2>> {
        let [b, t, f] = blocks.dims();
        let cfg = self.config();
        if b == 0 || t != cfg.block || f != cfg.n_mels {
            return Err(Error::invalid(format!(
                "aiSFX expects blocks [B >= 1, {}, {}], got [{b}, {t}, {f}]",
                cfg.block, cfg.n_mels
            )));
        }
        Ok(self.net.forward(blocks))
    }

    /// One embedding per block of mono `samples` at the configured rate: `[blocks, 512]`, the
    /// package's output for one file.
    pub fn block_embeddings(&self, samples: &[f32]) -> Result<Tensor<2>> {
        let spec = self.front_end.spectrogram(samples)?;
        let n = self.front_end.block_count(spec.n_frames);
        let embeddings = self.embed_all(&self.front_end.blocks(&spec)?)?;
        Ok(Tensor::from_data(
            TensorData::new(embeddings, [n, self.embedding_dim()]),
            &self.device,
        ))
    }

    /// One embedding per clip of mono samples at the configured rate (44.1 kHz): the mean of
    /// its block embeddings. The blocks of all clips go through the network together, at
    /// most [`BATCH_BLOCKS`] at a time.
    pub fn clip_embeddings(&self, clips: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        if clips.is_empty() {
            return Err(Error::invalid("aiSFX: no clips to embed"));
        }
        let mut blocks = Vec::new();
        let mut counts = Vec::with_capacity(clips.len());
        for (i, clip) in clips.iter().enumerate() {
            let spec = self
                .front_end
                .spectrogram(clip)
                .map_err(|e| Error::invalid(format!("clip {i}: {e}")))?;
            blocks.extend(self.front_end.blocks(&spec)?);
            counts.push(self.front_end.block_count(spec.n_frames));
        }
        let embeddings = self.embed_all(&blocks)?;
        let dim = self.embedding_dim();
        let mut rows = embeddings.chunks_exact(dim);
        Ok(counts
            .iter()
            .map(|&n| {
                let mut sum = vec![0.0f64; dim];
                for row in rows.by_ref().take(n) {
                    sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
                }
                sum.into_iter().map(|s| (s / n as f64) as f32).collect()
            })
            .collect())
    }

    /// [`Aisfx::clip_embeddings`] of decoded audio at any rate and channel count: each clip is
    /// averaged to mono and, unless already at 44.1 kHz, resampled with libswresample. librosa
    /// (which the package loads audio with) resamples with soxr instead, so embeddings are only
    /// comparable sample for sample with the package for 44.1 kHz input.
    pub fn clip_embeddings_audio(&self, clips: &[&AudioBuffer]) -> Result<Vec<Vec<f32>>> {
        let rate = self.config().sample_rate;
        let mono = clips
            .iter()
            .enumerate()
            .map(|(i, audio)| {
                if audio.channels == 0 {
                    return Err(Error::invalid(format!("clip {i}: audio has zero channels")));
                }
                if audio.sample_rate == rate {
                    Ok(audio.to_mono())
                } else {
                    Ok(crate::media::resample(audio, rate, 1)?.samples)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&[f32]> = mono.iter().map(Vec::as_slice).collect();
        self.clip_embeddings(&refs)
    }

    /// Embeddings (`[block][512]`) of blocks stored back to back, [`BATCH_BLOCKS`] at a time.
    fn embed_all(&self, blocks: &[f32]) -> Result<Vec<f32>> {
        let cfg = self.config();
        let block_len = cfg.block * cfg.n_mels;
        let mut out = Vec::with_capacity(blocks.len() / block_len * self.embedding_dim());
        for chunk in blocks.chunks(BATCH_BLOCKS * block_len) {
            let shape = [chunk.len() / block_len, cfg.block, cfg.n_mels];
            let input = Tensor::from_data(TensorData::new(chunk.to_vec(), shape), &self.device);
            out.extend(
                self.embed_blocks(input)?
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .map_err(|e| Error::invalid(format!("aiSFX embeddings: {e:?}")))?,
            );
        }
        Ok(out)
    }
}
