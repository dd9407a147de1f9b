//! ViCLIP video encoder against a re-implementation of InternVid's `viclip_vision.py`: token
//! layout after `ln_pre`, video embedding and its normalised form at 1e-4 (fixtures by
//! `tests/parity/encoder_reference.py`).

mod common;

use avsync_engine::Error;
use avsync_engine::encoders::viclip::{ViClip, ViClipConfig};
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;
const IO: &str = "encoders/viclip_tiny_io.safetensors";

fn model(device: &Device) -> ViClip {
    let cfg: ViClipConfig = serde_json::from_str(&Fixture::metadata(IO, "config")).unwrap();
    ViClip::from_files(
        &cfg,
        &[fixture_path("encoders/viclip_tiny.safetensors")],
        device,
    )
    .unwrap()
}

#[test]
fn tiny_viclip_matches_reference() {
    let device = Device::flex();
    let model = model(&device);
    let io = Fixture::load(IO);
    let frames: Tensor<5> = io.tensor("frames", &device);
    assert_close(
        model.tokens(frames.clone()).unwrap(),
        io.values("dbg_tokens_ln_pre"),
        TOL,
        "tokens after ln_pre",
    );
    assert_close(
        model.forward(frames.clone()).unwrap(),
        io.values("vision_embeds"),
        TOL,
        "video embedding",
    );
    assert_close(
        model.video_features(frames).unwrap(),
        io.values("vision_embeds_normalized"),
        TOL,
        "normalised video embedding",
    );
}

#[test]
fn preset_and_bad_input() {
    let l14 = ViClipConfig::viclip_l14();
    assert_eq!(
        (l14.input_resolution, l14.patch_size, l14.width),
        (224, 14, 1024)
    );
    assert_eq!(
        (l14.layers, l14.heads, l14.output_dim, l14.num_frames),
        (24, 16, 768, 8)
    );

    let device = Device::flex();
    let model = model(&device);
    let none = Tensor::<5>::zeros([1, 0, 3, 16, 16], &device);
    assert!(matches!(model.forward(none), Err(Error::InvalidInput(_))));
    let no_clips = Tensor::<5>::zeros([0, 8, 3, 16, 16], &device);
    assert!(matches!(
        model.forward(no_clips),
        Err(Error::InvalidInput(_))
    ));
    let wrong_size = Tensor::<5>::zeros([1, 8, 3, 32, 32], &device);
    assert!(matches!(
        model.forward(wrong_size),
        Err(Error::InvalidInput(_))
    ));
    let wrong_count = Tensor::<5>::zeros([1, 5, 3, 16, 16], &device);
    assert!(matches!(
        model.forward(wrong_count),
        Err(Error::InvalidInput(_))
    ));
    // One frame is defined (mean temporal position).
    let io = Fixture::load(IO);
    let frames: Tensor<5> = io.tensor("frames", &device);
    let one = model.video_features(frames.narrow(1, 0, 1)).unwrap();
    assert_eq!(one.dims(), [2, 16]);
    assert!(values(one).iter().all(|v| v.is_finite()));
}
