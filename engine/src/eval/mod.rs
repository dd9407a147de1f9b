//! Evaluation of generated soundtracks: onset accuracy and average precision against the
//! real sound (AVSync15 protocol, corrected), Fréchet distance between embedding sets, and
//! summaries over a set of clips; and evaluation clips from a renderer training never uses.

pub mod distance;
pub mod events;
pub mod fd;
pub mod footage;
pub mod onset;
pub mod prompt_rank;
pub mod summary;
pub mod unseen;
