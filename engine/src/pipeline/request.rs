//! What a user asks for: one generation request, with defaults a sound designer can start
//! from, and its validation (every problem named before any work starts).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::render::SamplerSettings;
use crate::error::{Error, Result};
use crate::gmds::GmdsSettings;
use crate::models::adapters::AdapterScales;
use crate::schedule::SamplerKind;
use crate::verify::VerifierWeights;

/// A reference sound and how much of its EnCodec code to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSound {
    /// Audio file (any format FFmpeg reads).
    pub path: PathBuf,
    /// EnCodec codebooks summed into each token (1, 2, 4 or 8; the default model ignores it).
    pub codebooks: usize,
}

/// Conditions removed for ablations: the features are replaced by zeros, what the model sees
/// when condition dropout removes them in training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ablation {
    /// Zero the per-frame features (eq. 2).
    pub frames: bool,
    /// Zero the global video feature (eq. 1).
    pub video: bool,
}

/// How generation is anchored on real recordings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Anchoring {
    /// Strength of the variation, in [0, 1]: 0 delivers the draft (the recording placed on
    /// the picture's events), 1 generates from noise (the paper's path, with the recording
    /// only as the audio prompt), and between the draft is noised to that level and denoised
    /// (SDEdit), so the model varies it and fits it to the picture.
    pub strength: f64,
    /// Recordings retrieved from the library when no reference sound is given (0: none, and
    /// generation from the text alone); candidates cycle through them and the search chooses.
    pub retrieve: usize,
    /// Library index to retrieve from (`None`: the starter library).
    pub library: Option<PathBuf>,
    /// The reference is already laid on the range (a candidate to vary again): its draft is
    /// the reference as it is, not placed on the events.
    pub as_laid: bool,
}

/// The default variation strength.
pub const DEFAULT_STRENGTH: f64 = 0.25;
/// Recordings retrieved by default.
pub const DEFAULT_RETRIEVE: usize = 3;

impl Default for Anchoring {
    fn default() -> Self {
        Self {
            strength: DEFAULT_STRENGTH,
            retrieve: DEFAULT_RETRIEVE,
            library: None,
            as_laid: false,
        }
    }
}

/// The longest prompt accepted: MiniLM reads 256 tokens and T5 512, so anything longer
/// would be cut without the user knowing.
pub const MAX_PROMPT_BYTES: usize = 4096;

/// The most recordings one request retrieves (each is decoded and encoded).
pub const MAX_RETRIEVE: usize = 16;

/// The most events one request may mark (one every 0.1 s over the longest range).
pub const MAX_EVENTS: usize = 12_000;

/// One generation: a clip range, prompts, search and sampler settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The (silent) video.
    pub video: PathBuf,
    /// Start of the range in seconds (default: the clip's start).
    pub start_s: Option<f64>,
    /// End of the range in seconds (default: the clip's end).
    pub end_s: Option<f64>,
    /// What should be heard.
    pub text: String,
    /// What should not be heard (the unconditional text of guidance).
    pub negative: String,
    /// Optional reference sound.
    pub reference: Option<ReferenceSound>,
    /// Adapter strengths.
    pub scales: AdapterScales,
    /// Sampler of the final renders.
    pub sampler: SamplerSettings,
    /// Steps while searching; `None` searches at full quality (the paper's exact setting,
    /// where every scored candidate is a final render).
    pub search_steps: Option<usize>,
    /// Candidates rendered at full quality and returned, best first.
    pub keep: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// GMDS settings (`iterations = 0` is best-of-N).
    pub gmds: GmdsSettings,
    /// Verifier weights of the search objective.
    pub verifiers: VerifierWeights,
    /// Most candidates through the network at once (0 = all; memory bound).
    pub max_batch: usize,
    /// Conditions removed (evaluation).
    #[serde(default)]
    pub ablate: Ablation,
    /// Events the user tapped or marked, in seconds of the clip. When given they replace
    /// the events picked from the picture: in the event track of a model that reads one,
    /// and as what the sync verifier lines onsets up with.
    #[serde(default)]
    pub events: Option<Vec<f64>>,
    /// How readily events are picked from the picture, 0 to 1 (see
    /// [`crate::features::events::EventPicking::sensitivity`]).
    #[serde(default = "default_event_sensitivity")]
    pub event_sensitivity: f32,
    /// Real recordings as the draft and the audio prompt.
    #[serde(default)]
    pub anchoring: Anchoring,
}

/// The picker's default sensitivity.
fn default_event_sensitivity() -> f32 {
    crate::features::events::EventPicking::default().sensitivity
}

impl GenerationRequest {
    /// A request for `video` with the defaults.
    pub fn new(video: impl Into<PathBuf>) -> Self {
        Self {
            video: video.into(),
            start_s: None,
            end_s: None,
            text: String::new(),
            negative: String::new(),
            reference: None,
            scales: AdapterScales::default(),
            sampler: SamplerSettings {
                kind: SamplerKind::DpmSolver,
                steps: 25,
                guidance: 3.0,
            },
            search_steps: Some(4),
            keep: 2,
            seed: 0,
            gmds: GmdsSettings::default(),
            verifiers: VerifierWeights::default(),
            max_batch: 8,
            ablate: Ablation::default(),
            events: None,
            event_sensitivity: default_event_sensitivity(),
            anchoring: Anchoring::default(),
        }
    }

    /// Check the settings (the files are checked when they are opened).
    pub fn validate(&self) -> Result<()> {
        self.gmds.validate()?;
        let strength = self.anchoring.strength;
        if !(0.0..=1.0).contains(&strength) {
            return Err(Error::invalid(format!(
                "the variation strength must be 0 to 1, got {strength}"
            )));
        }
        if self.anchoring.retrieve > MAX_RETRIEVE {
            return Err(Error::invalid(format!(
                "at most {MAX_RETRIEVE} recordings can be retrieved, got {}",
                self.anchoring.retrieve
            )));
        }
        if !(0.0..=1.0).contains(&self.event_sensitivity) {
            return Err(Error::invalid(format!(
                "the event sensitivity must be 0 to 1, got {}",
                self.event_sensitivity
            )));
        }
        if let Some(events) = &self.events {
            if events.len() > MAX_EVENTS {
                return Err(Error::invalid(format!(
                    "{} events given; the limit is {MAX_EVENTS}",
                    events.len()
                )));
            }
            if let Some(t) = events.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
                return Err(Error::invalid(format!(
                    "an event time must be a non-negative number of seconds, got {t}"
                )));
            }
        }
        for (name, text) in [("prompt", &self.text), ("negative prompt", &self.negative)] {
            if text.len() > MAX_PROMPT_BYTES {
                return Err(Error::invalid(format!(
                    "the {name} is {} bytes long; the limit is {MAX_PROMPT_BYTES} (the text \
                     encoders read a few hundred words at most)",
                    text.len()
                )));
            }
        }
        let s = &self.sampler;
        if s.steps == 0 || s.steps > 1000 {
            return Err(Error::invalid(format!(
                "sampling steps must be 1 to 1000, got {}",
                s.steps
            )));
        }
        if self.search_steps == Some(0) {
            return Err(Error::invalid("search steps must be at least 1"));
        }
        if !(s.guidance.is_finite() && s.guidance >= 0.0) {
            return Err(Error::invalid(format!(
                "guidance must be a non-negative number, got {}",
                s.guidance
            )));
        }
        if self.keep == 0 || self.keep > self.gmds.evaluations() {
            return Err(Error::invalid(format!(
                "keep must be 1 to {} (the candidates the search scores), got {}",
                self.gmds.evaluations(),
                self.keep
            )));
        }
        for (name, v) in [
            ("video", self.scales.video),
            ("frames", self.scales.frames),
            ("audio", self.scales.audio),
        ] {
            if !v.is_finite() {
                return Err(Error::invalid(format!(
                    "the {name} strength must be a number"
                )));
            }
        }
        if let (Some(a), Some(b)) = (self.start_s, self.end_s)
            && !(b > a)
        {
            return Err(Error::invalid(format!(
                "the range end ({b:.3} s) must be after its start ({a:.3} s)"
            )));
        }
        if self.start_s.is_some_and(|a| !(a >= 0.0)) {
            return Err(Error::invalid("the range start must be 0 or later"));
        }
        if let Some(r) = &self.reference
            && !matches!(r.codebooks, 1 | 2 | 4 | 8)
        {
            return Err(Error::invalid(format!(
                "codebooks must be 1, 2, 4 or 8, got {}",
                r.codebooks
            )));
        }
        Ok(())
    }

    /// Whether the search renders at full quality (no re-render of the picks).
    pub fn exact(&self) -> bool {
        self.search_steps.is_none_or(|s| s == self.sampler.steps)
    }
}
