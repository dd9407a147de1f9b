//! The verifiers a request scores candidates with (paper section 3.3): synchronisation with
//! the picture's events (or the user's), similarity to the reference sound, and agreement
//! with the description, each weighted, or unavailable with the reason.

use super::model::{Model, SAMPLE_RATE, TextEncoder};
use super::request::GenerationRequest;
use crate::error::Error;
use crate::features::events::impulses;
use crate::features::track::MotionTrack;
use crate::verify::reference::ReferenceVerifier;
use crate::verify::sync::SyncVerifier;
use crate::verify::text::TextVerifier;
use crate::verify::{CandidateView, Unavailable, Verifier, VerifierScore, VerifierWeights};

/// The verifiers of a request, and their weights.
pub(super) struct Scorer<'a> {
    pub(super) verifiers: Vec<Box<dyn Verifier + 'a>>,
    pub(super) weights: VerifierWeights,
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
            (Ok(aisfx), Some(embedding)) => Box::new(ReferenceVerifier {
                aisfx,
                reference: embedding,
                sample_rate: SAMPLE_RATE,
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
        }
    }

    /// Whether a weighted verifier needs the waveform.
    pub(super) fn needs_waveform(&self) -> bool {
        self.verifiers
            .iter()
            .any(|v| v.needs_waveform() && self.weights.of(v.name()) > 0.0)
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
    let aisfx = match &model.aisfx {
        Ok(a) => a,
        Err(why) => return unavailable(format!("the sound embedding is unavailable: {why}")),
    };
    let projected = minilm
        .sentence_embeddings(&[request.text.as_str()])
        .map(|e| heads.text.forward(e))
        .and_then(|t| {
            t.into_data()
                .try_into_vec::<f32>()
                .map_err(|e| Error::invalid(format!("{e:?}")))
        });
    match projected {
        Ok(text) => Box::new(TextVerifier {
            heads,
            aisfx,
            device: minilm.device().clone(),
            text,
            sample_rate: SAMPLE_RATE,
        }),
        Err(e) => unavailable(format!("cannot embed the description: {e}")),
    }
}
