//! AvSync engine: video-to-audio generation with AvSyncDiff.
//!
//! The crate reads like the paper's pipeline: [`media`] brings video frames and audio in and
//! writes synced results out, [`dsp`] holds the signal processing (mel features, loudness,
//! onsets, edits) that the model and the editor share.

pub mod audio;
pub mod buffer_cache;
pub mod csv;
pub mod device;
pub mod dsp;
pub mod encoders;
pub mod error;
pub mod eval;
pub mod features;
pub mod gmds;
pub mod library;
pub mod media;
pub mod models;
pub mod noise;
pub mod pipeline;
pub mod project;
pub mod schedule;
pub mod train;
pub mod verify;

pub use audio::AudioBuffer;
pub use error::{Error, Result};
