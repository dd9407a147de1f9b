//! The reference-similarity verifier: cosine similarity between the aisfx embeddings of the
//! candidate and of the reference sound (both as clip embeddings, the mean over 2.3 s
//! blocks). It reads the waveform, so a search weighting it vocodes every candidate.

use super::{CandidateView, Verifier, VerifierScore};
use crate::audio::AudioBuffer;
use crate::encoders::aisfx::Aisfx;

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Scores candidates against one reference embedding.
pub struct ReferenceVerifier<'a> {
    /// The embedding network.
    pub aisfx: &'a Aisfx,
    /// The reference sound's clip embedding.
    pub reference: Vec<f32>,
    /// Sample rate of the candidates' waveforms.
    pub sample_rate: u32,
}

impl Verifier for ReferenceVerifier<'_> {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn needs_waveform(&self) -> bool {
        true
    }

    fn score(&self, c: &CandidateView<'_>) -> VerifierScore {
        let unavailable = |note: String| VerifierScore {
            name: "reference".into(),
            score: None,
            note: Some(note),
        };
        let Some(wave) = c.wave else {
            return unavailable("the candidate was not vocoded".into());
        };
        let audio = AudioBuffer::new(self.sample_rate, 1, wave.to_vec());
        match self.aisfx.clip_embeddings_audio(&[&audio]) {
            Ok(e) => VerifierScore {
                name: "reference".into(),
                score: e.first().map(|e| cosine(e, &self.reference)),
                note: None,
            },
            Err(e) => unavailable(format!("cannot embed the candidate: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_simple_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
