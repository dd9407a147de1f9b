//! A generated candidate as the editor holds it: what the generator made, where it sits,
//! and the user's non-destructive edits (applied at export, never to the generated audio).

use avsync_engine::dsp::master::{LoudnessTarget, MasterSettings};
use avsync_engine::pipeline::RenderedCandidate;
pub use avsync_engine::project::Edits;

/// A candidate with its edits (applied at export, never to the generated audio).
pub struct CandidateItem {
    /// What the generator made.
    pub rendered: RenderedCandidate,
    /// Display name.
    pub name: String,
    /// Seed of the generation it came from.
    pub seed: u64,
    /// Range it covers.
    pub range: (f64, f64),
    /// The user's edits.
    pub edits: Edits,
}

impl CandidateItem {
    /// Delivery settings of this candidate.
    pub fn master(&self, sample_rate: u32) -> MasterSettings {
        let e = &self.edits;
        MasterSettings {
            sample_rate,
            loudness: e.normalize.then(LoudnessTarget::default),
            gain_db: e.gain_db,
            fade_in_s: e.fade_in_s,
            fade_out_s: e.fade_out_s,
            offset_frames: e.nudge_frames,
        }
    }
}
