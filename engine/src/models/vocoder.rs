//! HiFi-GAN vocoder ("HiFi-GAN: Generative Adversarial Networks for Efficient and High
//! Fidelity Speech Synthesis", Kong et al. 2020) in transformers' `SpeechT5HifiGan` layout, as
//! AudioLDM and Tango use it: log-mel `[B, T, 64]` to a 16 kHz waveform `[B, hop * T]`.
//! The same layout holds jik876's original HiFi-GAN once its weight norm is folded (the
//! bundled universal vocoder, 80 bands at 22.05 kHz: `scripts/convert_hifigan.py`).

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::conv_transpose1d;
use burn::tensor::ops::ConvTransposeOptions;
use serde::{Deserialize, Serialize};

use super::nn::Conv1d;
use super::weights::{Init, Weights};
use crate::dsp::mel::MelConfig;
use crate::error::{Error, Result};

/// `SpeechT5HifiGan` configuration (`vocoder/config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VocoderConfig {
    /// Mel bands in.
    pub model_in_dim: usize,
    /// Output sample rate.
    pub sampling_rate: u32,
    /// Width after the input convolution; halves at every upsampling.
    pub upsample_initial_channel: usize,
    /// Upsampling factor of each stage (their product is the mel hop).
    pub upsample_rates: Vec<usize>,
    /// Transposed-convolution kernel of each stage.
    pub upsample_kernel_sizes: Vec<usize>,
    /// Kernels of the parallel residual blocks.
    pub resblock_kernel_sizes: Vec<usize>,
    /// Dilations of each residual block's convolutions.
    pub resblock_dilation_sizes: Vec<Vec<usize>>,
    /// Slope of the leaky ReLUs inside the network.
    pub leaky_relu_slope: f64,
    /// Standardise the input with the stored mean and scale.
    pub normalize_before: bool,
    /// The log-mel front end the vocoder was trained on, when it is not the diffusion
    /// model's own (AudioLDM's): a pretrained vocoder's spectrograms are mapped onto it
    /// ([`crate::dsp::mel_map::MelMap`]). Absent for the model's own vocoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mel: Option<MelConfig>,
}

impl VocoderConfig {
    /// AudioLDM's vocoder: 1024 channels, x160 upsampling to 16 kHz.
    pub fn audioldm() -> Self {
        Self {
            model_in_dim: 64,
            sampling_rate: 16_000,
            upsample_initial_channel: 1024,
            upsample_rates: vec![5, 4, 2, 2, 2],
            upsample_kernel_sizes: vec![16, 16, 8, 4, 4],
            resblock_kernel_sizes: vec![3, 7, 11],
            resblock_dilation_sizes: vec![vec![1, 3, 5]; 3],
            leaky_relu_slope: 0.1,
            normalize_before: false,
            mel: None,
        }
    }

    /// The embedded default model's vocoder (HiFi-GAN V3-like width).
    pub fn small() -> Self {
        Self {
            upsample_initial_channel: 128,
            resblock_kernel_sizes: vec![3, 7],
            resblock_dilation_sizes: vec![vec![1, 3, 5]; 2],
            ..Self::audioldm()
        }
    }

    /// Read a transformers `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid vocoder config: {e}")))?;
        let ok = !cfg.upsample_rates.is_empty()
            && cfg.upsample_rates.len() == cfg.upsample_kernel_sizes.len()
            && cfg.resblock_kernel_sizes.len() == cfg.resblock_dilation_sizes.len()
            && cfg.upsample_initial_channel >> cfg.upsample_rates.len() > 0;
        if !ok {
            return Err(Error::media(
                path,
                "inconsistent upsampling or residual-block lists",
            ));
        }
        if let Some(mel) = &cfg.mel {
            if mel.n_mels != cfg.model_in_dim
                || mel.hop_length != cfg.hop()
                || mel.sample_rate != cfg.sampling_rate
            {
                return Err(Error::media(
                    path,
                    format!(
                        "the mel front end ({} bands, hop {}, {} Hz) does not fit the network \
                         ({} bands in, hop {}, {} Hz out)",
                        mel.n_mels,
                        mel.hop_length,
                        mel.sample_rate,
                        cfg.model_in_dim,
                        cfg.hop(),
                        cfg.sampling_rate
                    ),
                ));
            }
        }
        Ok(cfg)
    }

    /// Samples per mel frame.
    pub fn hop(&self) -> usize {
        self.upsample_rates.iter().product()
    }
}

/// A transposed 1-D convolution (`weight [in, out, k]`).
#[derive(Module, Debug)]
pub struct ConvTranspose1d {
    /// `[in, out, k]`.
    pub weight: Param<Tensor<3>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
    stride: usize,
    padding: usize,
}

impl ConvTranspose1d {
    fn load(w: &Weights, c_in: usize, c_out: usize, k: usize, stride: usize) -> Result<Self> {
        Ok(Self {
            weight: w.param("weight", [c_in, c_out, k], Init::FanIn(c_out * k))?,
            bias: w.param("bias", [c_out], Init::FanIn(c_out * k))?,
            stride,
            padding: (k - stride) / 2,
        })
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let opts = ConvTransposeOptions::new([self.stride], [self.padding], [0], [1], 1);
        conv_transpose1d(x, self.weight.val(), Some(self.bias.val()), opts)
    }
}

/// A HiFi-GAN residual block: pairs of (dilated, plain) convolutions with leaky ReLUs.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// Dilated convolutions.
    pub convs1: Vec<Conv1d>,
    /// Plain convolutions.
    pub convs2: Vec<Conv1d>,
    slope: f64,
}

impl ResidualBlock {
    fn load(
        w: &Weights,
        channels: usize,
        k: usize,
        dilations: &[usize],
        slope: f64,
    ) -> Result<Self> {
        let mut convs1 = Vec::with_capacity(dilations.len());
        let mut convs2 = Vec::with_capacity(dilations.len());
        for (j, &d) in dilations.iter().enumerate() {
            convs1.push(Conv1d::load(
                &w.pp("convs1").pp(j),
                channels,
                channels,
                k,
                d,
                (k * d - d) / 2,
            )?);
            convs2.push(Conv1d::load(
                &w.pp("convs2").pp(j),
                channels,
                channels,
                k,
                1,
                (k - 1) / 2,
            )?);
        }
        Ok(Self {
            convs1,
            convs2,
            slope,
        })
    }

    fn forward(&self, mut x: Tensor<3>) -> Tensor<3> {
        for (c1, c2) in self.convs1.iter().zip(&self.convs2) {
            let h = c1.forward(leaky_relu(x.clone(), self.slope));
            x = c2.forward(leaky_relu(h, self.slope)) + x;
        }
        x
    }
}

/// The vocoder.
#[derive(Module, Debug)]
pub struct HifiGan {
    /// Mel to the initial width.
    pub conv_pre: Conv1d,
    /// Upsampling stages.
    pub upsampler: Vec<ConvTranspose1d>,
    /// `len(kernels)` residual blocks per stage, averaged.
    pub resblocks: Vec<ResidualBlock>,
    /// To one channel.
    pub conv_post: Conv1d,
    /// Input standardisation mean (used only with `normalize_before`).
    pub mean: Param<Tensor<1>>,
    /// Input standardisation scale.
    pub scale: Param<Tensor<1>>,
    kernels_per_stage: usize,
    slope: f64,
    normalize_before: bool,
}

impl HifiGan {
    /// Load from `w`.
    pub fn load(cfg: &VocoderConfig, w: &Weights) -> Result<Self> {
        let c0 = cfg.upsample_initial_channel;
        let mut upsampler = Vec::new();
        let mut resblocks = Vec::new();
        for (i, (&u, &k)) in cfg
            .upsample_rates
            .iter()
            .zip(&cfg.upsample_kernel_sizes)
            .enumerate()
        {
            let (cin, cout) = (c0 >> i, c0 >> (i + 1));
            upsampler.push(ConvTranspose1d::load(
                &w.pp("upsampler").pp(i),
                cin,
                cout,
                k,
                u,
            )?);
            for (j, (&rk, d)) in cfg
                .resblock_kernel_sizes
                .iter()
                .zip(&cfg.resblock_dilation_sizes)
                .enumerate()
            {
                let idx = i * cfg.resblock_kernel_sizes.len() + j;
                resblocks.push(ResidualBlock::load(
                    &w.pp("resblocks").pp(idx),
                    cout,
                    rk,
                    d,
                    cfg.leaky_relu_slope,
                )?);
            }
        }
        let c_last = c0 >> cfg.upsample_rates.len();
        let model = Self {
            conv_pre: Conv1d::load(&w.pp("conv_pre"), cfg.model_in_dim, c0, 7, 1, 3)?,
            upsampler,
            resblocks,
            conv_post: Conv1d::load(&w.pp("conv_post"), c_last, 1, 7, 1, 3)?,
            mean: w.param("mean", [cfg.model_in_dim], Init::Zeros)?,
            scale: w.param("scale", [cfg.model_in_dim], Init::Ones)?,
            kernels_per_stage: cfg.resblock_kernel_sizes.len(),
            slope: cfg.leaky_relu_slope,
            normalize_before: cfg.normalize_before,
        };
        w.finish()?;
        Ok(model)
    }

    /// Load a transformers `vocoder/` directory.
    pub fn from_dir(dir: &Path, device: &burn::tensor::Device) -> Result<Self> {
        let cfg = VocoderConfig::from_file(&super::checkpoint::config_path(dir)?)?;
        let w = Weights::from_files(&super::checkpoint::safetensors_files(dir, "model")?, device)?;
        Self::load(&cfg, &w)
    }

    /// Vocode log-mel spectrograms of one shape in one batch: `hop * frames` samples or more
    /// each.
    pub fn vocode(
        &self,
        mels: &[&crate::dsp::MelSpectrogram],
        device: &burn::tensor::Device,
    ) -> Result<Vec<Vec<f32>>> {
        let Some(first) = mels.first() else {
            return Ok(Vec::new());
        };
        let (frames, bands) = (first.n_frames, first.n_mels);
        if mels
            .iter()
            .any(|m| m.n_frames != frames || m.n_mels != bands)
        {
            return Err(Error::invalid(
                "spectrograms vocoded together must have one shape",
            ));
        }
        let flat: Vec<f32> = mels.iter().flat_map(|m| m.data.iter().copied()).collect();
        let input = Tensor::from_data(
            burn::tensor::TensorData::new(flat, [mels.len(), frames, bands]),
            device,
        );
        let wave = self.forward(input);
        let len = wave.dims()[1];
        let values: Vec<f32> = wave
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| Error::invalid(format!("cannot read the waveform: {e:?}")))?;
        Ok(values.chunks_exact(len).map(<[f32]>::to_vec).collect())
    }

    /// Log-mel `[B, T, mels]` to waveform `[B, hop * T + edge]`.
    pub fn forward(&self, mel: Tensor<3>) -> Tensor<2> {
        let mel = if self.normalize_before {
            (mel - self.mean.val().unsqueeze::<3>()) / self.scale.val().unsqueeze::<3>()
        } else {
            mel
        };
        let mut x = self.conv_pre.forward(mel.swap_dims(1, 2));
        for (i, up) in self.upsampler.iter().enumerate() {
            x = up.forward(leaky_relu(x, self.slope));
            let blocks =
                &self.resblocks[i * self.kernels_per_stage..(i + 1) * self.kernels_per_stage];
            let sum = blocks
                .iter()
                .map(|b| b.forward(x.clone()))
                .reduce(|a, b| a + b)
                .expect("at least one residual block");
            x = sum.div_scalar(self.kernels_per_stage as f64);
        }
        // The last activation uses PyTorch's default slope (0.01), as the reference does.
        let y = self.conv_post.forward(leaky_relu(x, 0.01)).tanh();
        let [b, _, n] = y.dims();
        y.reshape([b, n])
    }
}
