//! Features computed from the picture without a learned encoder.

pub mod motion;
