//! The reference-similarity verifier: cosine similarity between the aisfx embeddings of the
//! candidate and of the reference sound (both as clip embeddings, the mean over 2.3 s
//! blocks). It reads the sound, so a search weighting it vocodes and embeds every candidate.

use super::{CandidateView, Verifier, VerifierScore};

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
pub struct ReferenceVerifier {
    /// The reference sound's clip embedding.
    pub reference: Vec<f32>,
}

impl Verifier for ReferenceVerifier {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn needs_sound(&self) -> bool {
        true
    }

    fn score(&self, c: &CandidateView<'_>) -> VerifierScore {
        match c.sound {
            Ok(e) => VerifierScore {
                name: "reference".into(),
                score: Some(cosine(e, &self.reference)),
                note: None,
            },
            Err(why) => VerifierScore {
                name: "reference".into(),
                score: None,
                note: Some(why.into()),
            },
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
