//! The U-Net and the AvSync adapters against diffusers and the PyTorch reference of eq. 1-3
//! (fixtures by `tests/parity/model_reference.py`), loaded through the same directory code a
//! real Tango-2 checkpoint goes through.

mod common;

use avsync_engine::models::adapters::{AdapterScales, ConditionInputs};
use avsync_engine::models::unet::UNet2DConditionModel;
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;

fn tiny(dir: &str) -> std::path::PathBuf {
    fixture_path("tiny_tango").join(dir)
}

#[test]
fn unet_matches_diffusers() {
    let device = Device::flex();
    let unet = UNet2DConditionModel::from_dir(&tiny("unet"), None, &device).unwrap();
    let io = Fixture::load("unet_io.safetensors");
    let t: Tensor<1> = io.tensor("timesteps", &device);
    assert_close(
        unet.time_embed(t.clone()),
        io.values("time_embedding"),
        TOL,
        "time embedding",
    );
    let cond = unet.conditions(
        io.tensor("encoder_hidden_states", &device),
        Some(io.tensor("encoder_attention_mask", &device)),
        &ConditionInputs {
            video: None,
            frames: None,
            audio: None,
        },
        AdapterScales::OFF,
    );
    let out = unet.forward(io.tensor("sample", &device), t, &cond);
    assert_close(out, io.values("out"), TOL, "unet output");
}

#[test]
fn adapters_match_the_reference_and_vanish_at_zero_scale() {
    let device = Device::flex();
    let unet =
        UNet2DConditionModel::from_dir(&tiny("unet"), Some(&tiny("adapter")), &device).unwrap();
    let io = Fixture::load("adapter_io.safetensors");
    let inputs = ConditionInputs {
        video: Some(io.tensor("video", &device)),
        frames: Some(io.tensor("frames", &device)),
        audio: Some(io.tensor("audio", &device)),
    };
    let scales = io.values("scales").to_vec();
    for (row, name) in ["out_v1_f1_a1", "out_v0p5_f0_a1p5", "out_v0_f0_a0"]
        .iter()
        .enumerate()
    {
        let s = &scales[row * 3..row * 3 + 3];
        let scales = AdapterScales {
            video: s[0].into(),
            frames: s[1].into(),
            audio: s[2].into(),
        };
        let cond = unet.conditions(
            io.tensor("encoder_hidden_states", &device),
            Some(io.tensor("encoder_attention_mask", &device)),
            &inputs,
            scales,
        );
        if row == 0 {
            assert_close(
                cond.video.clone().unwrap(),
                io.values("video_tokens"),
                TOL,
                "video tokens",
            );
            assert_close(
                cond.frames.clone().unwrap(),
                io.values("frame_tokens"),
                TOL,
                "frame tokens",
            );
            assert_close(
                cond.audio.clone().unwrap(),
                io.values("audio_tokens"),
                TOL,
                "audio tokens",
            );
        }
        let out = unet.forward(
            io.tensor("sample", &device),
            io.tensor("timesteps", &device),
            &cond,
        );
        assert_close(out, io.values(name), TOL, name);
    }
    // Zero scales give exactly the backbone's output.
    let plain = UNet2DConditionModel::from_dir(&tiny("unet"), None, &device).unwrap();
    let text = || {
        (
            io.tensor::<3>("encoder_hidden_states", &device),
            Some(io.tensor::<2>("encoder_attention_mask", &device)),
        )
    };
    let (h, m) = text();
    let off = unet.conditions(h, m, &inputs, AdapterScales::OFF);
    let (h, m) = text();
    let base = plain.conditions(
        h,
        m,
        &ConditionInputs {
            video: None,
            frames: None,
            audio: None,
        },
        AdapterScales::OFF,
    );
    let a = values(unet.forward(
        io.tensor("sample", &device),
        io.tensor("timesteps", &device),
        &off,
    ));
    let b = values(plain.forward(
        io.tensor("sample", &device),
        io.tensor("timesteps", &device),
        &base,
    ));
    assert_eq!(
        a, b,
        "zero-scale adapters must reproduce the backbone bit for bit"
    );
}

#[test]
fn adapters_save_and_reload_identically() {
    let device = Device::flex();
    let unet =
        UNet2DConditionModel::from_dir(&tiny("unet"), Some(&tiny("adapter")), &device).unwrap();
    let cfg = avsync_engine::models::adapters::AdapterConfig::from_file(
        &tiny("adapter").join("adapter_config.json"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    unet.save_adapter(dir.path(), &cfg).unwrap();
    // Every key of the reference file is written back with the same values.
    let original = Fixture::load("tiny_tango/adapter/adapter.safetensors");
    let saved = safetensors::SafeTensors::deserialize(
        &std::fs::read(dir.path().join("adapter.safetensors")).unwrap(),
    )
    .unwrap()
    .names()
    .len();
    assert_eq!(saved, original.tensor_count());
    let again = UNet2DConditionModel::from_dir(&tiny("unet"), Some(dir.path()), &device).unwrap();
    let io = Fixture::load("adapter_io.safetensors");
    let inputs = ConditionInputs {
        video: Some(io.tensor("video", &device)),
        frames: Some(io.tensor("frames", &device)),
        audio: Some(io.tensor("audio", &device)),
    };
    let run = |m: &UNet2DConditionModel| {
        let cond = m.conditions(
            io.tensor("encoder_hidden_states", &device),
            Some(io.tensor("encoder_attention_mask", &device)),
            &inputs,
            AdapterScales::default(),
        );
        values(m.forward(
            io.tensor("sample", &device),
            io.tensor("timesteps", &device),
            &cond,
        ))
    };
    assert_eq!(run(&unet), run(&again));
}
