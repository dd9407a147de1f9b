//! Verifiers: scores of a candidate soundtrack that GMDS maximises and the editor shows.
//! Each is reported on its own; the search combines the available ones with user weights.
//! A verifier that cannot score (no reference sound given, heads not trained) reports
//! `None` and is left out of the combination, never given a made-up value.

pub mod reference;
pub mod sync;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::dsp::MelSpectrogram;

/// What a verifier sees of a candidate: its stitched log-mel over the range and, when some
/// verifier needs it, the aisfx clip embedding of its vocoded waveform. The embedding is
/// computed once per candidate (all candidates of a batch together) and shared by every
/// verifier that reads the sound.
pub struct CandidateView<'a> {
    /// Log-mel spectrogram of the range.
    pub mel: &'a MelSpectrogram,
    /// The waveform's aisfx clip embedding, or why there is none.
    pub sound: std::result::Result<&'a [f32], &'a str>,
}

/// A verifier. Implementations that cannot judge (missing inputs or weights) return a score
/// of `None` with a note. The full tier's CLAP or Wav2CLIP scorers plug in here.
pub trait Verifier {
    /// Name under which scores and weights are reported (`sync`, `reference`, `text`).
    fn name(&self) -> &'static str;
    /// Whether it reads the sound embedding (the search then vocodes and embeds every
    /// candidate).
    fn needs_sound(&self) -> bool {
        false
    }
    /// Score one candidate.
    fn score(&self, candidate: &CandidateView<'_>) -> VerifierScore;
}

/// A verifier that cannot score, with the reason.
pub struct Unavailable {
    /// Its name.
    pub name: &'static str,
    /// Why.
    pub note: String,
}

impl Verifier for Unavailable {
    fn name(&self) -> &'static str {
        self.name
    }
    fn score(&self, _: &CandidateView<'_>) -> VerifierScore {
        VerifierScore {
            name: self.name.into(),
            score: None,
            note: Some(self.note.clone()),
        }
    }
}

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
    /// The weight of the verifier `name` (0 for an unknown name).
    pub fn of(&self, name: &str) -> f64 {
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
