//! The audio-text verifier: cosine similarity, in the joint space of the trained verifier
//! heads, between the description and the candidate (its aisfx clip embedding). It reads the
//! sound, so a search weighting it vocodes and embeds every candidate.

use burn::tensor::{Device, Tensor, TensorData};

use super::{CandidateView, Verifier, VerifierScore};
use crate::models::heads::VerifierHeads;

/// Scores candidates against one description.
pub struct TextVerifier<'a> {
    /// The trained heads.
    pub heads: &'a VerifierHeads,
    /// The description, projected into the joint space (unit length).
    pub text: Vec<f32>,
    /// Where the heads run.
    pub device: Device,
}

impl TextVerifier<'_> {
    fn unavailable(note: String) -> VerifierScore {
        VerifierScore {
            name: "text".into(),
            score: None,
            note: Some(note),
        }
    }
}

impl Verifier for TextVerifier<'_> {
    fn name(&self) -> &'static str {
        "text"
    }

    fn needs_sound(&self) -> bool {
        true
    }

    fn score(&self, c: &CandidateView<'_>) -> VerifierScore {
        let embedding = match c.sound {
            Ok(e) => e,
            Err(why) => return Self::unavailable(why.into()),
        };
        let d = embedding.len();
        let projected = self
            .heads
            .audio
            .forward(Tensor::<2>::from_data(
                TensorData::new(embedding.to_vec(), [1, d]),
                &self.device,
            ))
            .into_data()
            .try_into_vec::<f32>();
        match projected {
            Ok(a) => VerifierScore {
                name: "text".into(),
                score: Some(super::reference::cosine(&a, &self.text)),
                note: None,
            },
            Err(e) => Self::unavailable(format!("cannot project the candidate: {e:?}")),
        }
    }
}
