//! The audio-text verifier: cosine similarity, in the joint space of the trained verifier
//! heads, between the description and the candidate (its aisfx clip embedding). It reads the
//! waveform, so a search weighting it vocodes every candidate.

use burn::tensor::{Device, Tensor, TensorData};

use super::{CandidateView, Verifier, VerifierScore};
use crate::audio::AudioBuffer;
use crate::encoders::aisfx::Aisfx;
use crate::models::heads::VerifierHeads;

/// Scores candidates against one description.
pub struct TextVerifier<'a> {
    /// The trained heads.
    pub heads: &'a VerifierHeads,
    /// The sound embedding network.
    pub aisfx: &'a Aisfx,
    /// The description, projected into the joint space (unit length).
    pub text: Vec<f32>,
    /// Sample rate of the candidates' waveforms.
    pub sample_rate: u32,
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

    fn needs_waveform(&self) -> bool {
        true
    }

    fn score(&self, c: &CandidateView<'_>) -> VerifierScore {
        let Some(wave) = c.wave else {
            return Self::unavailable("the candidate was not vocoded".into());
        };
        let audio = AudioBuffer::new(self.sample_rate, 1, wave.to_vec());
        let embedding = match self.aisfx.clip_embeddings_audio(&[&audio]) {
            Ok(mut e) if !e.is_empty() => e.swap_remove(0),
            Ok(_) => return Self::unavailable("the candidate is empty".into()),
            Err(e) => return Self::unavailable(format!("cannot embed the candidate: {e}")),
        };
        let d = embedding.len();
        let projected = self
            .heads
            .audio
            .forward(Tensor::<2>::from_data(
                TensorData::new(embedding, [1, d]),
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
