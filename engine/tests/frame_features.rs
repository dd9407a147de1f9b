//! Frame features over a clip window: N uniform frames from the media layer through CLIP, in
//! batches (tiny random CLIP from the parity fixtures, a fixture clip).

mod common;

use avsync_engine::encoders::clip::{ClipImageEncoder, ClipVisionConfig};
use avsync_engine::encoders::frames::clip_frame_features;
use avsync_engine::media::VideoReader;
use burn::tensor::Device;
use common::*;

#[test]
fn frames_are_sampled_and_encoded_in_batches() {
    let device = Device::flex();
    let dir = fixture_path("encoders/clip_vision_tiny");
    let cfg = ClipVisionConfig::from_file(&dir.join("config.json")).unwrap();
    let encoder =
        ClipImageEncoder::from_files(&cfg, &[dir.join("model.safetensors")], &device).unwrap();
    let clip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/media/cfr_25.mp4");
    let mut reader = VideoReader::open(&clip).unwrap();
    let all_at_once =
        values(clip_frame_features(&mut reader, &encoder, (0.0, 1.0), 5, (64, 48), 8).unwrap());
    let in_twos =
        values(clip_frame_features(&mut reader, &encoder, (0.0, 1.0), 5, (64, 48), 2).unwrap());
    assert_eq!(all_at_once.len(), 5 * 16);
    assert!(max_rel_err(&in_twos, &all_at_once) < 1e-5);
    // Different frames (different brightness) give different embeddings.
    assert!(max_rel_err(&all_at_once[..16], &all_at_once[16..32]) > 1e-4);
    assert!(clip_frame_features(&mut reader, &encoder, (0.0, 1.0), 0, (64, 48), 2).is_err());
    assert!(clip_frame_features(&mut reader, &encoder, (1.0, 1.0), 4, (64, 48), 2).is_err());
}
