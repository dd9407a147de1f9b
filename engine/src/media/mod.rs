//! Media I/O through FFmpeg: probing, frame sampling, audio decoding, WAV export and muxing.
//!
//! Every function that reads takes the user's file read-only; every function that writes goes
//! through [`output::AtomicOutput`], so a failed or interrupted export never leaves a partial file.

mod audio_in;
mod ffmpeg_io;
mod frames;
mod mux;
pub mod output;
mod probe;
mod resample;
mod video_out;
mod wav;

pub use audio_in::{DecodeOptions, MAX_SAMPLE, decode_audio};
pub use frames::{RgbFrame, VideoReader, uniform_times};
pub use mux::{MuxOptions, MuxReport, mux_audio};
pub use probe::{AudioStreamInfo, MediaInfo, VideoInfo, probe};
pub use resample::resample;
pub use video_out::write_video;
pub use wav::{Bext, WavFormat, WavSpec, write_wav};

/// Initialise FFmpeg once per process and keep its own logging quiet: errors reach the user
/// through [`crate::Error`], not through stderr.
pub(crate) fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

/// Serialise a path for reports: lossily, since JSON strings must be UTF-8 and Unix paths need not.
pub(crate) fn path_lossy<S: serde::Serializer>(
    path: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}
