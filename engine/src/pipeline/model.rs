//! A model directory and the loaded model.
//!
//! A directory holds `avsync_model.json` (the [`ModelManifest`]) next to, or pointing at, the
//! parts in their public layouts: diffusers `unet/`, `vae/`, `scheduler/`, a transformers
//! `vocoder/`, the adapter (`adapter_config.json` + `adapter.safetensors`) and the encoders.
//! Relative paths are relative to the directory, so a full-tier directory can name existing
//! checkpoint folders anywhere. Both tiers use this format: the default model names the
//! bundled MiniLM and the picture/sound features that need no weights.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::pretrained_vocoder::{self, PretrainedVocoder};
use super::render::Vocoding;
use crate::dsp::mel::MelConfig;
use crate::encoders::aisfx::Aisfx;
use crate::encoders::clip::{ClipImageEncoder, ClipVisionConfig};
use crate::encoders::encodec::Encodec;
use crate::encoders::minilm::MiniLm;
use crate::encoders::t5::T5TextEncoder;
use crate::encoders::viclip::{ViClip, ViClipConfig};
use crate::error::{Error, Result};
use crate::features::track::{MotionTokens, MotionTrack};
use crate::models::adapters::AdapterConfig;
use crate::models::checkpoint::{config_path, safetensors_files};
use crate::models::heads::VerifierHeads;
use crate::models::unet::{UNet2DConditionModel, UNetConfig};
use crate::models::vae::{AutoencoderKL, VaeConfig};
use crate::models::vocoder::{HifiGan, VocoderConfig};
use crate::models::weights::{ParamNames, Weights, save_safetensors};
use crate::schedule::{NoiseSchedule, ScheduleConfig};

/// File name of the manifest in a model directory.
pub const MANIFEST: &str = "avsync_model.json";

/// Mel hop of every model here (AudioLDM's 160 samples at 16 kHz).
pub const HOP_SECONDS: f64 = 0.01;
/// Output rate of the vocoder.
pub const SAMPLE_RATE: u32 = 16_000;

/// What a model directory is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Display name.
    pub name: String,
    /// Seconds of audio one window of the model covers (Tango-2: 10.24).
    pub window_seconds: f64,
    /// Diffusers U-Net directory.
    pub unet: PathBuf,
    /// Diffusers AutoencoderKL directory.
    pub vae: PathBuf,
    /// Transformers SpeechT5HifiGan directory.
    pub vocoder: PathBuf,
    /// How spectrograms become waveforms: the vocoder above (the default), a pretrained
    /// vocoder with its own mel front end, or Griffin-Lim phase reconstruction, for a model
    /// whose vocoder measures worse than those.
    #[serde(default, skip_serializing_if = "VocoderKind::is_neural")]
    pub vocoding: VocoderKind,
    /// Diffusers scheduler directory (`scheduler_config.json`).
    pub scheduler: PathBuf,
    /// AvSync adapter directory; `None` for a plain text-to-audio backbone.
    #[serde(default)]
    pub adapter: Option<PathBuf>,
    /// Text encoder.
    pub text: TextSpec,
    /// Per-frame features (eq. 2).
    pub frames: FrameSpec,
    /// Global video feature (eq. 1).
    pub video: VideoSpec,
    /// Reference-sound tokens (eq. 3).
    pub reference: ReferenceSpec,
    /// Audio-text verifier heads (`heads_config.json` + `heads.safetensors`), when trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<PathBuf>,
}

/// How a model turns spectrograms into waveforms (`"neural"`, `"griffin-lim"`, or
/// `{"hifigan": PATH}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VocoderKind {
    /// The neural vocoder of the manifest.
    #[default]
    Neural,
    /// Griffin-Lim phase reconstruction from the mel spectrogram.
    GriffinLim,
    /// A pretrained HiFi-GAN with its own mel front end (a vocoder directory whose config
    /// names its `mel`), fed the model's spectrograms through a mel map; `null` is the
    /// bundled universal vocoder (`assets/models/hifigan-universal`).
    #[serde(rename = "hifigan")]
    HifiGan(Option<PathBuf>),
}

impl VocoderKind {
    fn is_neural(&self) -> bool {
        *self == Self::Neural
    }
}

/// Text encoder of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TextSpec {
    /// all-MiniLM-L6-v2 token states; no path means the bundled copy.
    Minilm {
        /// Directory with `model.safetensors`, `config.json`, `tokenizer.json`.
        #[serde(default)]
        path: Option<PathBuf>,
    },
    /// FLAN-T5 encoder (Tango-2).
    T5 {
        /// Transformers T5 directory.
        path: PathBuf,
    },
}

/// Frame features of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FrameSpec {
    /// Motion cells and energy per slot ([`MotionTokens::Energy`]).
    Motion {
        /// Slots per window.
        count: usize,
        /// Motion grid side.
        grid: usize,
    },
    /// Motion without the camera's and change of motion per slot
    /// ([`MotionTokens::Kinematic`]).
    Kinematic {
        /// Slots per window.
        count: usize,
        /// Motion grid side.
        grid: usize,
    },
    /// [`FrameSpec::Kinematic`] plus the event track ([`MotionTokens::Events`]).
    Events {
        /// Slots per window.
        count: usize,
        /// Motion grid side.
        grid: usize,
    },
    /// CLIP image embeddings of uniformly spaced frames.
    Clip {
        /// Transformers CLIPVisionModelWithProjection or OpenCLIP directory.
        path: PathBuf,
        /// Frames per window.
        count: usize,
    },
}

/// Global video feature of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VideoSpec {
    /// Motion and colour statistics ([`MotionTrack::video_vector`]).
    Motion {
        /// Motion grid side.
        grid: usize,
    },
    /// ViCLIP video embedding.
    Viclip {
        /// The ViCLIP safetensors file.
        path: PathBuf,
        /// Its configuration (InternVid's argument names) as JSON; ViCLIP-L/14 when absent.
        #[serde(default)]
        config: Option<PathBuf>,
    },
}

/// Reference-sound tokens of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReferenceSpec {
    /// Pooled log-mel frames ([`crate::features::reference::mel_tokens`]).
    Mel {
        /// Seconds per token.
        token_seconds: f64,
    },
    /// EnCodec 24 kHz RVQ embeddings summed over the first k codebooks.
    Encodec {
        /// Transformers EncodecModel directory.
        path: PathBuf,
    },
}

impl ModelManifest {
    /// Read `dir/avsync_model.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(Error::media(dir, "model directory does not exist"));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let m: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(&path, format!("invalid model manifest: {e}")))?;
        if !(m.window_seconds > 0.0 && m.window_seconds.is_finite()) {
            return Err(Error::media(&path, "window_seconds must be positive"));
        }
        Ok(m)
    }
}

/// Text encoders.
pub enum TextEncoder {
    /// all-MiniLM-L6-v2.
    MiniLm(MiniLm),
    /// FLAN-T5.
    T5(T5TextEncoder),
}

impl TextEncoder {
    /// Token states `[B, L, D]` and mask `[B, L]`.
    pub fn encode(
        &self,
        texts: &[&str],
    ) -> Result<(burn::tensor::Tensor<3>, burn::tensor::Tensor<2>)> {
        match self {
            Self::MiniLm(m) => m.encode(texts),
            Self::T5(t) => t.encode(texts),
        }
    }

    /// Token width.
    pub fn width(&self) -> usize {
        match self {
            Self::MiniLm(m) => m.width(),
            Self::T5(t) => t.encoder.width(),
        }
    }
}

/// Frame-feature extractors.
pub enum FrameEncoder {
    /// Motion tokens.
    Motion {
        /// Which statistics.
        kind: MotionTokens,
        /// Slots per window.
        count: usize,
        /// Grid side.
        grid: usize,
    },
    /// CLIP embeddings.
    Clip {
        /// The image encoder.
        encoder: Box<ClipImageEncoder>,
        /// Frames per window.
        count: usize,
    },
}

/// Global video feature extractors.
pub enum VideoEncoder {
    /// Motion statistics.
    Motion {
        /// Grid side.
        grid: usize,
    },
    /// ViCLIP.
    ViClip(Box<ViClip>),
}

/// Reference-sound encoders.
pub enum ReferenceEncoder {
    /// Pooled log-mel.
    Mel {
        /// Seconds per token.
        token_seconds: f64,
    },
    /// EnCodec RVQ embeddings.
    Encodec(Box<Encodec>),
}

/// A loaded model: networks, schedule and condition encoders.
pub struct Model {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: ModelManifest,
    /// Denoiser with adapters.
    pub unet: UNet2DConditionModel,
    /// Mel VAE.
    pub vae: AutoencoderKL,
    /// Vocoder.
    pub vocoder: HifiGan,
    /// The pretrained vocoder the manifest's `vocoding` names, if it names one.
    pub pretrained_vocoder: Option<PretrainedVocoder>,
    /// Training noise schedule.
    pub schedule: NoiseSchedule,
    /// Adapter input sizes, when the model has adapters.
    pub adapter: Option<AdapterConfig>,
    /// Text encoder.
    pub text: TextEncoder,
    /// Frame features.
    pub frames: FrameEncoder,
    /// Global video feature.
    pub video: VideoEncoder,
    /// Reference-sound tokens.
    pub reference: ReferenceEncoder,
    /// Latent shape `[C, T, F]` of one window.
    pub latent_shape: [usize; 3],
    /// Checkpoint names of the U-Net backbone, adapter, VAE and vocoder parameters.
    pub names: [ParamNames; 4],
    /// Audio-text verifier heads, when trained.
    pub heads: Option<VerifierHeads>,
    /// The bundled sound embedding of the reference verifier and of evaluation, or why it
    /// is missing.
    pub aisfx: std::result::Result<Aisfx, String>,
}

/// Resolve a manifest path against the model directory.
fn at(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The directory of bundled assets: `$AVSYNC_ASSETS`, `assets/` next to the executable, or
/// the source tree's `assets/`.
pub fn assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AVSYNC_ASSETS") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.join("assets")))
        .filter(|d| d.join("models").is_dir())
    {
        return dir;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets"))
}

/// The bundled default model's directory.
pub fn default_model_dir() -> PathBuf {
    assets_dir().join("models").join("default")
}

impl Model {
    /// Load the model in `dir`, checking that its parts fit together.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let manifest = ModelManifest::read(dir)?;
        let m = &manifest;
        let unet_dir = at(dir, &m.unet);
        let unet_cfg = UNetConfig::from_file(&config_path(&unet_dir)?)?;
        let wb = Weights::from_files(
            &safetensors_files(&unet_dir, "diffusion_pytorch_model")?,
            device,
        )?;
        let (unet, adapter, adapter_names) = match &m.adapter {
            None => (
                UNet2DConditionModel::load(&unet_cfg, &wb, None)?,
                None,
                ParamNames::default(),
            ),
            Some(a) => {
                let adir = at(dir, a);
                let cfg = AdapterConfig::from_file(&adir.join("adapter_config.json"))?;
                let wa = Weights::from_files(&[adir.join("adapter.safetensors")], device)?;
                let unet = UNet2DConditionModel::load(&unet_cfg, &wb, Some((&wa, &cfg)))?;
                (unet, Some(cfg), wa.param_names())
            }
        };
        let vae_dir = at(dir, &m.vae);
        let vae_cfg = VaeConfig::from_file(&config_path(&vae_dir)?)?;
        let wv = Weights::from_files(
            &safetensors_files(&vae_dir, "diffusion_pytorch_model")?,
            device,
        )?;
        let vae = AutoencoderKL::load(&vae_cfg, &wv)?;
        let voc_dir = at(dir, &m.vocoder);
        let voc_cfg = VocoderConfig::from_file(&config_path(&voc_dir)?)?;
        let wo = Weights::from_files(&safetensors_files(&voc_dir, "model")?, device)?;
        let vocoder = HifiGan::load(&voc_cfg, &wo)?;
        let pretrained_vocoder = match &m.vocoding {
            VocoderKind::HifiGan(path) => {
                let p = path.as_ref().map_or_else(
                    || {
                        assets_dir()
                            .join("models")
                            .join(pretrained_vocoder::BUNDLED)
                    },
                    |p| at(dir, p),
                );
                Some(PretrainedVocoder::from_dir(
                    &p,
                    MelConfig::audioldm(),
                    device,
                )?)
            }
            VocoderKind::Neural | VocoderKind::GriffinLim => None,
        };
        let sched_path = at(dir, &m.scheduler).join("scheduler_config.json");
        let schedule = NoiseSchedule::new(&ScheduleConfig::from_file(&sched_path)?)?;

        let text = match &m.text {
            TextSpec::Minilm { path } => {
                let p = path.as_ref().map_or_else(
                    || assets_dir().join("models").join("minilm"),
                    |p| at(dir, p),
                );
                TextEncoder::MiniLm(MiniLm::from_dir(&p, device)?)
            }
            TextSpec::T5 { path } => {
                TextEncoder::T5(T5TextEncoder::from_dir(&at(dir, path), device)?)
            }
        };
        let frames = match &m.frames {
            FrameSpec::Motion { count, grid } => FrameEncoder::Motion {
                kind: MotionTokens::Energy,
                count: *count,
                grid: *grid,
            },
            FrameSpec::Kinematic { count, grid } => FrameEncoder::Motion {
                kind: MotionTokens::Kinematic,
                count: *count,
                grid: *grid,
            },
            FrameSpec::Events { count, grid } => FrameEncoder::Motion {
                kind: MotionTokens::Events,
                count: *count,
                grid: *grid,
            },
            FrameSpec::Clip { path, count } => {
                let p = at(dir, path);
                let cfg = ClipVisionConfig::from_file(&config_path(&p)?)?;
                let files = safetensors_files(&p, "model")?;
                FrameEncoder::Clip {
                    encoder: Box::new(ClipImageEncoder::from_files(&cfg, &files, device)?),
                    count: *count,
                }
            }
        };
        let video = match &m.video {
            VideoSpec::Motion { grid } => VideoEncoder::Motion { grid: *grid },
            VideoSpec::Viclip { path, config } => {
                let cfg = match config {
                    None => ViClipConfig::viclip_l14(),
                    Some(c) => {
                        let c = at(dir, c);
                        let text = std::fs::read_to_string(&c).map_err(|e| Error::io(&c, e))?;
                        serde_json::from_str(&text)
                            .map_err(|e| Error::media(&c, format!("invalid ViCLIP config: {e}")))?
                    }
                };
                VideoEncoder::ViClip(Box::new(ViClip::from_files(
                    &cfg,
                    &[at(dir, path)],
                    device,
                )?))
            }
        };
        let reference = match &m.reference {
            ReferenceSpec::Mel { token_seconds } => ReferenceEncoder::Mel {
                token_seconds: *token_seconds,
            },
            ReferenceSpec::Encodec { path } => {
                ReferenceEncoder::Encodec(Box::new(Encodec::from_dir(&at(dir, path), device)?))
            }
        };

        let manifest_path = dir.join(MANIFEST);
        let bad = |msg: String| Err(Error::media(&manifest_path, msg));
        let factor = 1usize << vae_cfg.block_out_channels.len().saturating_sub(1);
        let mel_frames = (m.window_seconds / HOP_SECONDS).round() as usize;
        if mel_frames % factor != 0 || 64 % factor != 0 {
            return bad(format!(
                "a {} s window is {mel_frames} mel frames, not a multiple of the VAE's factor {factor}",
                m.window_seconds
            ));
        }
        if vae_cfg.latent_channels != unet_cfg.in_channels {
            return bad(format!(
                "the VAE has {} latent channels, the U-Net takes {}",
                vae_cfg.latent_channels, unet_cfg.in_channels
            ));
        }
        if text.width() != unet_cfg.cross_attention_dim {
            return bad(format!(
                "the text encoder gives {}-wide tokens, the U-Net reads {}",
                text.width(),
                unet_cfg.cross_attention_dim
            ));
        }
        if let Some(a) = &adapter {
            let widths = [
                ("frame", frame_width(&frames), a.d_frame),
                ("video", video_width(&video), a.d_video),
                ("reference", reference_width(&reference), a.d_audio),
            ];
            for (what, got, want) in widths {
                if got != want {
                    return bad(format!(
                        "the {what} features are {got} wide, the adapter expects {want}"
                    ));
                }
            }
        }
        let heads = match &m.heads {
            Some(h) => Some(VerifierHeads::from_dir(&at(dir, h), device)?),
            None => None,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            heads,
            aisfx: load_aisfx(device),
            latent_shape: [vae_cfg.latent_channels, mel_frames / factor, 64 / factor],
            names: [
                wb.param_names(),
                adapter_names,
                wv.param_names(),
                wo.param_names(),
            ],
            manifest,
            unet,
            vae,
            vocoder,
            pretrained_vocoder,
            schedule,
            adapter,
            text,
            frames,
            video,
            reference,
        })
    }

    /// Frames (slots) per window of the frame features.
    pub fn frame_count(&self) -> usize {
        match &self.frames {
            FrameEncoder::Motion { count, .. } | FrameEncoder::Clip { count, .. } => *count,
        }
    }

    /// The verifier heads' projection of a description into their joint text-audio space
    /// (what the audio-text verifier and library search compare sounds with), or why this
    /// model has none.
    pub fn joint_text(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.text_query(text)?.0)
    }

    /// A description as library search reads it: its joint-space projection and its
    /// MiniLM sentence embedding.
    pub fn text_query(&self, text: &str) -> Result<(Vec<f32>, Vec<f32>)> {
        let Some(heads) = &self.heads else {
            return Err(Error::invalid("this model has no trained audio-text heads"));
        };
        let TextEncoder::MiniLm(minilm) = &self.text else {
            return Err(Error::invalid("the heads read MiniLM sentence embeddings"));
        };
        let e = minilm.sentence_embeddings(&[text])?;
        let read = |t: burn::tensor::Tensor<2>| {
            t.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| Error::invalid(format!("cannot read a text embedding: {e:?}")))
        };
        Ok((read(heads.text.forward(e.clone()))?, read(e)?))
    }

    /// Seconds per window.
    pub fn window_seconds(&self) -> f64 {
        self.manifest.window_seconds
    }

    /// How this model's spectrograms become waveforms.
    pub fn vocoding(&self) -> Vocoding<'_> {
        match (&self.manifest.vocoding, &self.pretrained_vocoder) {
            (_, Some(v)) => Vocoding::Pretrained(v),
            (VocoderKind::Neural, None) => Vocoding::Neural(&self.vocoder),
            // `HifiGan` always has its vocoder (the model loads it or fails to load).
            (VocoderKind::GriffinLim | VocoderKind::HifiGan(_), None) => Vocoding::GRIFFIN_LIM,
        }
    }

    /// Where the trainable networks' configurations and weights live.
    pub fn files(&self) -> ModelFiles {
        let m = &self.manifest;
        let unet = at(&self.dir, &m.unet);
        ModelFiles {
            unet_config: unet.join("config.json"),
            unet: unet.join("diffusion_pytorch_model.safetensors"),
            adapter: m
                .adapter
                .as_ref()
                .map(|a| at(&self.dir, a).join("adapter.safetensors")),
        }
    }

    /// Write the trainable networks (U-Net, adapter, VAE, vocoder) back into the directory's
    /// checkpoint files, under the names they were loaded with.
    pub fn save_weights(&self) -> Result<()> {
        let m = &self.manifest;
        let dir = &self.dir;
        save_safetensors(
            &at(dir, &m.unet).join("diffusion_pytorch_model.safetensors"),
            &self.names[0].state_of(&self.unet),
        )?;
        if let Some(a) = &m.adapter {
            save_safetensors(
                &at(dir, a).join("adapter.safetensors"),
                &self.names[1].state_of(&self.unet),
            )?;
        }
        save_safetensors(
            &at(dir, &m.vae).join("diffusion_pytorch_model.safetensors"),
            &self.names[2].state_of(&self.vae),
        )?;
        save_safetensors(
            &at(dir, &m.vocoder).join("model.safetensors"),
            &self.names[3].state_of(&self.vocoder),
        )?;
        Ok(())
    }
}

/// Weight files of a model's generator.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// U-Net configuration.
    pub unet_config: PathBuf,
    /// U-Net weights.
    pub unet: PathBuf,
    /// Adapter weights, when the model has adapters.
    pub adapter: Option<PathBuf>,
}

/// The bundled aisfx embedding, or why it cannot be used.
pub fn load_aisfx(device: &Device) -> std::result::Result<Aisfx, String> {
    let dir = assets_dir().join("models").join("aisfx");
    Aisfx::from_dir(&dir, device).map_err(|e| e.to_string())
}

fn frame_width(f: &FrameEncoder) -> usize {
    match f {
        FrameEncoder::Motion { kind, grid, .. } => kind.width(*grid),
        FrameEncoder::Clip { encoder, .. } => encoder.vision.embed_dim(),
    }
}

fn video_width(v: &VideoEncoder) -> usize {
    match v {
        VideoEncoder::Motion { grid } => MotionTrack::video_vector_width(*grid),
        VideoEncoder::ViClip(m) => m.embed_dim(),
    }
}

fn reference_width(r: &ReferenceEncoder) -> usize {
    match r {
        ReferenceEncoder::Mel { .. } => 64,
        ReferenceEncoder::Encodec(e) => e.config().codeword_dim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocoding_kinds_read_old_and_new_manifests() {
        let kind = |json: &str| serde_json::from_str::<VocoderKind>(json).unwrap();
        assert_eq!(kind(r#""neural""#), VocoderKind::Neural);
        assert_eq!(kind(r#""griffin-lim""#), VocoderKind::GriffinLim);
        assert_eq!(kind(r#"{"hifigan": null}"#), VocoderKind::HifiGan(None));
        assert_eq!(
            kind(r#"{"hifigan": "../voc"}"#),
            VocoderKind::HifiGan(Some(PathBuf::from("../voc")))
        );
        assert!(serde_json::from_str::<VocoderKind>(r#""hifigan""#).is_err());
        assert_eq!(
            serde_json::to_string(&VocoderKind::HifiGan(None)).unwrap(),
            r#"{"hifigan":null}"#
        );
        assert_eq!(
            serde_json::to_string(&VocoderKind::GriffinLim).unwrap(),
            r#""griffin-lim""#
        );
    }
}
