//! The verifiers a request scores candidates with (paper section 3.3): synchronisation with
//! the picture's events (or the user's), similarity to the reference sound, and agreement
//! with the description, each weighted, or unavailable with the reason.

use super::model::{Model, SAMPLE_RATE, TextEncoder};
use super::request::GenerationRequest;
use crate::audio::AudioBuffer;
use crate::encoders::aisfx::Aisfx;
use crate::features::events::impulses;
use crate::features::track::MotionTrack;
use crate::verify::reference::ReferenceVerifier;
use crate::verify::sync::SyncVerifier;
use crate::verify::text::TextVerifier;
use crate::verify::{CandidateView, Unavailable, Verifier, VerifierScore, VerifierWeights};

/// The verifiers of a request, their weights, and the sound embedding they share.
pub(super) struct Scorer<'a> {
    pub(super) verifiers: Vec<Box<dyn Verifier + 'a>>,
    pub(super) weights: VerifierWeights,
    aisfx: Option<&'a Aisfx>,
}

impl<'a> Scorer<'a> {
    pub(super) fn new(
        model: &'a Model,
        track: &MotionTrack,
        start: f64,
        request: &GenerationRequest,
        reference: Option<Vec<f32>>,
    ) -> Self {
        let sync = SyncVerifier {
            motion: match &request.events {
                Some(marked) => impulses(marked, &track.times),
                None => track.events(),
            },
            times: track.times.iter().map(|t| t - start).collect(),
            fps: track.fps,
            max_lag: 2,
        };
        let reference: Box<dyn Verifier + 'a> = match (&model.aisfx, reference) {
            (_, Some(_)) if request.verifiers.reference <= 0.0 => Box::new(Unavailable {
                name: "reference",
                note: "not scored (weight 0)".into(),
            }),
            (Ok(_), Some(embedding)) => Box::new(ReferenceVerifier {
                reference: embedding,
            }),
            (Err(why), Some(_)) => Box::new(Unavailable {
                name: "reference",
                note: format!("the sound embedding is unavailable: {why}"),
            }),
            (_, None) => Box::new(Unavailable {
                name: "reference",
                note: "no reference sound given".into(),
            }),
        };
        Self {
            verifiers: vec![Box::new(sync), reference, text_verifier(model, request)],
            weights: request.verifiers,
            aisfx: model.aisfx.as_ref().ok(),
        }
    }

    /// Whether a weighted verifier reads the sound (candidates are then vocoded and
    /// embedded).
    pub(super) fn needs_sound(&self) -> bool {
        self.aisfx.is_some()
            && self
                .verifiers
                .iter()
                .any(|v| v.needs_sound() && self.weights.of(v.name()) > 0.0)
    }

    /// The aisfx clip embeddings of waveforms at [`SAMPLE_RATE`], all in one batch, or why
    /// there are none.
    pub(super) fn sounds(&self, waves: &[&[f32]]) -> Result<Vec<Vec<f32>>, String> {
        let Some(aisfx) = self.aisfx else {
            return Err("the sound embedding is unavailable".into());
        };
        let audio: Vec<AudioBuffer> = waves
            .iter()
            .map(|w| AudioBuffer::new(SAMPLE_RATE, 1, w.to_vec()))
            .collect();
        let refs: Vec<&AudioBuffer> = audio.iter().collect();
        match aisfx.clip_embeddings_audio(&refs) {
            Ok(e) if e.len() == waves.len() => Ok(e),
            Ok(_) => Err("a candidate is empty".into()),
            Err(e) => Err(format!("cannot embed the candidate: {e}")),
        }
    }

    pub(super) fn score(&self, view: &CandidateView<'_>) -> Vec<VerifierScore> {
        self.verifiers.iter().map(|v| v.score(view)).collect()
    }
}

/// The audio-text verifier of a request, or why there is none.
fn text_verifier<'a>(model: &'a Model, request: &GenerationRequest) -> Box<dyn Verifier + 'a> {
    let unavailable =
        |note: String| -> Box<dyn Verifier + 'a> { Box::new(Unavailable { name: "text", note }) };
    if request.verifiers.text <= 0.0 {
        return unavailable("not scored (weight 0)".into());
    }
    if request.text.trim().is_empty() {
        return unavailable("no description given".into());
    }
    let Some(heads) = &model.heads else {
        return unavailable("this model has no trained audio-text heads".into());
    };
    let TextEncoder::MiniLm(minilm) = &model.text else {
        return unavailable("the heads read MiniLM sentence embeddings".into());
    };
    if let Err(why) = &model.aisfx {
        return unavailable(format!("the sound embedding is unavailable: {why}"));
    }
    match model.joint_text(&request.text) {
        Ok(text) => Box::new(TextVerifier {
            heads,
            device: minilm.device().clone(),
            text,
        }),
        Err(e) => unavailable(format!("cannot embed the description: {e}")),
    }
}
