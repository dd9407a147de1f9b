//! The media path on mutated MP4/MOV/MKV/WAV/OGG bytes: probe, then decode the audio and a few
//! video frames as the editor and the pipeline do. Never a panic, never an unbounded
//! allocation (inputs declaring hours are refused by the decoders' limits).
#![no_main]

use avsync_engine::media::{DecodeOptions, VideoReader, decode_audio, probe};
use avsync_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("media", data);
    let Ok(info) = probe(&path) else {
        return;
    };
    assert!(info.duration_s.is_finite() && info.duration_s >= 0.0);
    if !info.audio.is_empty() {
        let opts = DecodeOptions {
            max_duration_s: 60.0,
            ..DecodeOptions::to(16_000, 1)
        };
        if let Ok(audio) = decode_audio(&path, &opts) {
            assert!(audio.samples.iter().all(|s| s.is_finite()));
        }
    }
    if let Some(video) = &info.video {
        assert!(video.fps.is_finite());
        if let Ok(mut reader) = VideoReader::open(&path) {
            let end = video.duration_s.min(10.0);
            let _ = reader.frames_at(&[0.0, end / 2.0, end], 32, 32);
        }
    }
});
