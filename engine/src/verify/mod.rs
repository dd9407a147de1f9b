//! Verifiers: scores of a candidate soundtrack that GMDS maximises and the editor shows.
//! Each is reported on its own; the search combines the available ones with user weights.
//! A verifier that cannot score (no reference sound given, heads not trained) reports
//! `None` and is left out of the combination, never given a made-up value.

pub mod sync;

use serde::{Deserialize, Serialize};

/// One verifier's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifierScore {
    /// Verifier name (`sync`, `reference`, `text`).
    pub name: String,
    /// Score in [-1, 1], or `None` when unavailable.
    pub score: Option<f64>,
    /// Why it is unavailable, when it is.
    pub note: Option<String>,
}

/// Weights of the verifiers in the combined score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifierWeights {
    /// Audio-visual sync.
    pub sync: f64,
    /// Similarity to the reference sound.
    pub reference: f64,
    /// Audio-text agreement.
    pub text: f64,
}

impl Default for VerifierWeights {
    fn default() -> Self {
        Self {
            sync: 1.0,
            reference: 1.0,
            text: 1.0,
        }
    }
}

impl VerifierWeights {
    fn of(&self, name: &str) -> f64 {
        match name {
            "sync" => self.sync,
            "reference" => self.reference,
            "text" => self.text,
            _ => 0.0,
        }
    }
}

/// Weighted mean of the available scores (0 when none is available).
pub fn combine(scores: &[VerifierScore], weights: &VerifierWeights) -> f64 {
    let (sum, total) = scores
        .iter()
        .filter_map(|s| s.score.map(|v| (v, weights.of(&s.name))))
        .filter(|(_, w)| *w > 0.0)
        .fold((0.0, 0.0), |(s, t), (v, w)| (s + v * w, t + w));
    if total > 0.0 { sum / total } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_skips_unavailable_and_zero_weights() {
        let s = |name: &str, score: Option<f64>| VerifierScore {
            name: name.into(),
            score,
            note: None,
        };
        let scores = [
            s("sync", Some(0.5)),
            s("reference", None),
            s("text", Some(-0.5)),
        ];
        assert_eq!(combine(&scores, &VerifierWeights::default()), 0.0);
        let w = VerifierWeights {
            sync: 3.0,
            reference: 1.0,
            text: 1.0,
        };
        assert!((combine(&scores, &w) - 0.25).abs() < 1e-12);
        assert_eq!(combine(&[s("reference", None)], &w), 0.0);
    }
}
