//! Evaluation of generated soundtracks: onset accuracy and average precision against the
//! real sound (AVSync15 protocol, corrected), and summaries over a set of clips.

pub mod onset;
