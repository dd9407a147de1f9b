//! Conditioning-encoder latency (not a test: nothing here asserts a time).
//!
//! `cargo bench -p avsync-engine --bench encoders -- CASE` where CASE is `minilm` (real
//! shipped weights: a prompt and its negative, as a generation encodes them), `t5` (FLAN-T5
//! large encoder, random weights, 2 x 32 tokens), `clip` (OpenCLIP ViT-H/14, random weights,
//! 16 frames at 224 px, preprocessing excluded), `viclip` (ViCLIP-L/14, random weights, 8
//! frames) or `encodec` (EnCodec 24 kHz, random weights, 10.24 s of reference audio to 8
//! codebooks). Runs on the CPU (flex); prints wall time and peak resident memory.

mod common;

use std::time::Instant;

use avsync_engine::encoders::clip::{ClipVision, ClipVisionConfig};
use avsync_engine::encoders::encodec::{Encodec, EncodecConfig};
use avsync_engine::encoders::minilm::MiniLm;
use avsync_engine::encoders::t5::{T5Config, T5Encoder};
use avsync_engine::encoders::viclip::{ViClip, ViClipConfig};
use avsync_engine::models::weights::Weights;
use avsync_engine::noise::NoiseRng;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Seconds of the second of two runs (the first warms caches and allocators).
fn time<T>(device: &Device, mut f: impl FnMut() -> T) -> f64 {
    let _ = f();
    let _ = device.sync();
    let start = Instant::now();
    let _ = f();
    let _ = device.sync();
    start.elapsed().as_secs_f64()
}

fn main() {
    common::allocate_like_the_app();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let case = args.first().map(String::as_str).unwrap_or("minilm");
    let device = Device::flex();
    let mut rng = NoiseRng::new(0);
    let fresh = Weights::fresh(&device);
    match case {
        "minilm" => {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/models/minilm");
            let model = MiniLm::from_dir(&dir, &device).expect("shipped MiniLM");
            let texts = ["footsteps on gravel, slow and heavy", "music, speech"];
            let s = time(&device, || model.encode(&texts).expect("encode"));
            println!(
                "MiniLM (22.7 M, real weights), 2 prompts: {:.1} ms",
                s * 1e3
            );
        }
        "t5" => {
            let model = T5Encoder::load(&T5Config::flan_t5_large(), &fresh).expect("fresh T5");
            println!(
                "FLAN-T5 large encoder parameters: {:.1} M",
                model.num_params() as f64 / 1e6
            );
            let ids: Tensor<2, Int> = Tensor::ones([2, 32], &device);
            let mask: Tensor<2> = Tensor::ones([2, 32], &device);
            let s = time(&device, || model.forward(ids.clone(), mask.clone()));
            println!("FLAN-T5 large, 2 x 32 tokens: {:.2} s", s);
        }
        "clip" => {
            let model =
                ClipVision::load(&ClipVisionConfig::vit_h_14(), &fresh).expect("fresh CLIP");
            println!(
                "ViT-H/14 parameters: {:.1} M",
                model.num_params() as f64 / 1e6
            );
            let pixels: Tensor<4> = rng.tensor([16, 3, 224, 224], &device);
            let s = time(&device, || model.forward(pixels.clone()).expect("forward"));
            println!("OpenCLIP ViT-H/14, 16 frames at 224 px: {:.2} s", s);
        }
        "viclip" => {
            let model = ViClip::load(&ViClipConfig::viclip_l14(), &fresh).expect("fresh ViCLIP");
            println!(
                "ViCLIP-L/14 parameters: {:.1} M",
                model.num_params() as f64 / 1e6
            );
            let frames: Tensor<5> = rng.tensor([1, 8, 3, 224, 224], &device);
            let s = time(&device, || model.forward(frames.clone()).expect("forward"));
            println!("ViCLIP-L/14, 8 frames at 224 px: {:.2} s", s);
        }
        "encodec" => {
            let model =
                Encodec::load(&EncodecConfig::encodec_24khz(), &fresh).expect("fresh EnCodec");
            println!(
                "EnCodec 24 kHz parameters: {:.1} M",
                model.num_params() as f64 / 1e6
            );
            let wave: Tensor<3> = rng.tensor([1, 1, 245_760], &device).mul_scalar(0.1);
            let s = time(&device, || model.embedding(wave.clone(), 8).expect("embed"));
            println!("EnCodec 24 kHz, 10.24 s to 8-codebook tokens: {:.2} s", s);
        }
        other => {
            eprintln!("unknown case {other}: minilm, t5, clip, viclip, encodec");
            std::process::exit(2);
        }
    }
    println!("peak resident memory: {:.0} MiB", common::peak_rss_mib());
}
