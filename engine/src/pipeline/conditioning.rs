//! From a request's inputs to the conditions the U-Net reads: text tokens, per-window picture
//! features (frame tokens for eq. 2, a global vector for eq. 1) and reference-sound tokens
//! (eq. 3). The unconditional rows of classifier-free guidance carry the negative (or empty)
//! text and zero adapter inputs, which is what condition dropout trains the model on.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::model::{FrameEncoder, Model, ReferenceEncoder, SAMPLE_RATE, VideoEncoder};
use super::request::Ablation;
use super::windows::WindowPlan;
use crate::audio::AudioBuffer;
use crate::encoders::encodec::prepare_reference_audio;
use crate::encoders::frames::clip_frame_features;
use crate::error::{Error, Result};
use crate::features::reference::mel_tokens;
use crate::features::track::MotionTrack;
use crate::media::{VideoReader, probe};
use crate::models::adapters::{AdapterScales, ConditionInputs, Conditions};

/// Picture features of every window of a plan, for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct VisualFeatures {
    /// Frame tokens `[W, N, d_frame]`, row-major.
    pub frames: Vec<f32>,
    /// `[W, N, d_frame]`.
    pub frames_shape: [usize; 3],
    /// Global vectors `[W, d_video]`, row-major.
    pub video: Vec<f32>,
    /// `[W, d_video]`.
    pub video_shape: [usize; 2],
}

/// ImageNet statistics ViCLIP's frames are normalised with.
const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Compute the picture features of `plan`'s windows of the clip at `path`, with `events`
/// (seconds of the clip) in the event track of models that read one.
pub fn visual_features(
    model: &Model,
    path: &Path,
    track: &MotionTrack,
    events: &[f64],
    plan: &WindowPlan,
    device: &Device,
) -> Result<VisualFeatures> {
    let w = plan.len();
    let ws = plan.window_s;
    let (frames, frames_shape) = match &model.frames {
        FrameEncoder::Motion { kind, count, grid } => {
            if *grid != track.grid {
                return Err(Error::invalid(format!(
                    "the motion track has a {} grid, the model reads {grid}",
                    track.grid
                )));
            }
            let values: Vec<f32> = plan
                .starts
                .iter()
                .flat_map(|&s| track.frame_tokens(*kind, s, ws, *count, events))
                .collect();
            let d = kind.width(*grid);
            (values, [w, *count, d])
        }
        FrameEncoder::Clip { encoder, count } => {
            let info = probe(path)?;
            let v = info
                .video
                .as_ref()
                .ok_or_else(|| Error::media(path, "has no video stream"))?;
            let mut reader = VideoReader::open(path)?;
            let mut parts = Vec::with_capacity(w);
            for &s in &plan.starts {
                parts.push(clip_frame_features(
                    &mut reader,
                    encoder,
                    (s, s + ws),
                    *count,
                    (v.width, v.height),
                    8,
                )?);
            }
            let t = Tensor::stack::<3>(parts, 0);
            let shape = t.dims();
            (read(t, "frame features")?, shape)
        }
    };
    let (video, video_shape) = match &model.video {
        VideoEncoder::Motion { grid } => {
            let values: Vec<f32> = plan
                .starts
                .iter()
                .flat_map(|&s| track.video_vector(s, ws))
                .collect();
            (values, [w, MotionTrack::video_vector_width(*grid)])
        }
        VideoEncoder::ViClip(m) => {
            let (s, t) = (m.resolution(), m.num_frames());
            let mut reader = VideoReader::open(path)?;
            let mut pixels = Vec::with_capacity(w * t * 3 * s * s);
            for &start in &plan.starts {
                let times = crate::media::uniform_times(start, start + ws, t);
                for f in reader.frames_at(&times, s as u32, s as u32)? {
                    for c in 0..3 {
                        pixels.extend(f.data.chunks_exact(3).map(|p| {
                            (f32::from(p[c]) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
                        }));
                    }
                }
            }
            let x = Tensor::from_data(TensorData::new(pixels, [w, t, 3, s, s]), device);
            let e = m.forward(x)?;
            let shape = e.dims();
            (read(e, "video features")?, shape)
        }
    };
    Ok(VisualFeatures {
        frames,
        frames_shape,
        video,
        video_shape,
    })
}

/// Reference-sound tokens: values `[Na, d_audio]` (row-major) and their shape.
pub type ReferenceTokens = (Vec<f32>, [usize; 2]);

/// Reference-sound tokens `[Na, d_audio]` of `audio` for `model`, with `codebooks` EnCodec
/// codebooks where the model reads EnCodec; returns the values and the shape.
pub fn reference_tokens(
    model: &Model,
    audio: &AudioBuffer,
    codebooks: usize,
    device: &Device,
) -> Result<ReferenceTokens> {
    match &model.reference {
        ReferenceEncoder::Mel { token_seconds } => {
            let (v, n) = mel_tokens(audio, *token_seconds, model.window_seconds())?;
            Ok((v, [n, 64]))
        }
        ReferenceEncoder::Encodec(e) => {
            let window = (model.window_seconds() * f64::from(e.config().sampling_rate)) as usize;
            let wave = prepare_reference_audio(audio, window, device)?;
            let emb = e.embedding(wave, codebooks)?;
            let [_, n, d] = emb.dims();
            Ok((read(emb, "reference embedding")?, [n, d]))
        }
    }
}

/// Everything a generation is conditioned on.
pub struct ConditionSet<'a> {
    /// What should be heard.
    pub text: &'a str,
    /// What should not (the unconditional text of guidance; empty for none).
    pub negative: &'a str,
    /// Picture features of each window.
    pub visual: &'a VisualFeatures,
    /// Reference tokens and their shape.
    pub reference: Option<&'a ReferenceTokens>,
    /// Adapter strengths.
    pub scales: AdapterScales,
    /// Conditions replaced by zeros.
    pub ablate: Ablation,
}

/// Conditions with rows `[u_1..u_W, c_1..c_W]`: the unconditional rows get the negative text
/// and zero adapter inputs, the conditional rows the text and each window's features.
pub fn conditions(model: &Model, set: &ConditionSet<'_>, device: &Device) -> Result<Conditions> {
    let w = set.visual.frames_shape[0];
    let (states, mask) = model.text.encode(&[set.negative, set.text])?;
    let rows = |t: Tensor<3>| {
        Tensor::cat(
            vec![
                t.clone().narrow(0, 0, 1).repeat_dim(0, w),
                t.narrow(0, 1, 1).repeat_dim(0, w),
            ],
            0,
        )
    };
    let text = rows(states);
    let mask: Tensor<2> = {
        let m3: Tensor<3> = mask.unsqueeze_dim(2);
        rows(m3).squeeze_dim(2)
    };
    if model.adapter.is_none() {
        return Ok(model.unet.conditions(
            text,
            Some(mask),
            &ConditionInputs {
                video: None,
                frames: None,
                audio: None,
            },
            AdapterScales::OFF,
        ));
    }
    let zeros_then = |values: &[f32], ablated: bool| -> Vec<f32> {
        let mut v = vec![0f32; values.len()];
        if ablated {
            v.resize(2 * values.len(), 0.0);
        } else {
            v.extend_from_slice(values);
        }
        v
    };
    let [_, n, df] = set.visual.frames_shape;
    let frames = Tensor::from_data(
        TensorData::new(
            zeros_then(&set.visual.frames, set.ablate.frames),
            [2 * w, n, df],
        ),
        device,
    );
    let dv = set.visual.video_shape[1];
    let video = Tensor::from_data(
        TensorData::new(zeros_then(&set.visual.video, set.ablate.video), [2 * w, dv]),
        device,
    );
    let audio = set.reference.map(|(values, [na, da])| {
        let mut v = vec![0f32; w * values.len()];
        for _ in 0..w {
            v.extend_from_slice(values);
        }
        Tensor::from_data(TensorData::new(v, [2 * w, *na, *da]), device)
    });
    Ok(model.unet.conditions(
        text,
        Some(mask),
        &ConditionInputs {
            video: Some(video),
            frames: Some(frames),
            audio,
        },
        set.scales,
    ))
}

fn read<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read the {what}: {e:?}")))
}

/// Decode a reference sound for the model (any format FFmpeg reads).
pub fn load_reference(path: &Path) -> Result<AudioBuffer> {
    crate::media::decode_audio(
        path,
        &crate::media::DecodeOptions {
            max_duration_s: 600.0,
            ..crate::media::DecodeOptions::to(SAMPLE_RATE, 1)
        },
    )
}
