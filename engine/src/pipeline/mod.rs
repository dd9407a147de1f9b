//! Generation: from conditions to candidate waveforms.

pub mod denoise;
pub mod noise;
pub mod render;
