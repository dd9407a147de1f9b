//! FLAN-T5 encoder against transformers' `T5EncoderModel`: a tiny random model at 1e-4 with the
//! stand-in SentencePiece tokenizer's ids, the relative-position buckets and bias, and a
//! 140-token input past the maximum distance (fixtures by `tests/parity/encoder_reference.py`).

mod common;

use avsync_engine::encoders::t5::{T5Config, T5Encoder, T5TextEncoder, relative_position_bucket};
use avsync_engine::encoders::tokenizer::TextTokenizer;
use avsync_engine::models::weights::Weights;
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;
const IO: &str = "encoders/t5_tiny_io.safetensors";

fn dir() -> std::path::PathBuf {
    fixture_path("encoders/t5_tiny")
}

fn encoder(device: &Device) -> T5Encoder {
    let cfg = T5Config::from_file(&dir().join("config.json")).unwrap();
    let w = Weights::from_files(&[dir().join("model.safetensors")], device).unwrap();
    T5Encoder::load(&cfg, &w).unwrap()
}

fn texts() -> Vec<String> {
    serde_json::from_str(&Fixture::metadata(IO, "texts")).unwrap()
}

#[test]
fn config_and_preset() {
    let cfg = T5Config::from_file(&dir().join("config.json")).unwrap();
    assert_eq!(
        (cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff),
        (32, 8, 4, 64)
    );
    assert_eq!(cfg.vocab_size, 384);
    let (gated, act) = cfg.feed_forward().unwrap();
    assert!(gated);
    assert_eq!(act, avsync_engine::encoders::t5::T5Activation::GeluNew);
    let large = T5Config::flan_t5_large();
    assert_eq!(
        (
            large.d_model,
            large.num_layers,
            large.num_heads,
            large.d_kv,
            large.d_ff
        ),
        (1024, 24, 16, 64, 2816)
    );
    assert_eq!(large.feed_forward().unwrap(), (true, act));
}

#[test]
fn relative_position_buckets_match() {
    let io = Fixture::load(IO);
    let rel = io.values("relative_position");
    let bucket = io.values("relative_position_bucket");
    assert_eq!(rel.len(), 401);
    for (&r, &b) in rel.iter().zip(bucket) {
        assert_eq!(
            relative_position_bucket(r as i64, 32, 128) as f32,
            b,
            "bucket of {r}"
        );
    }
    let device = Device::flex();
    assert_close(
        encoder(&device).position_bias(24),
        io.values("position_bias"),
        TOL,
        "position bias",
    );
}

#[test]
fn tokenizer_matches_transformers() {
    let io = Fixture::load(IO);
    let tok = TextTokenizer::from_file(&dir().join("tokenizer.json"), 24).unwrap();
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = tok.encode(&refs).unwrap();
    assert_eq!((batch.batch, batch.len), (8, 24));
    let ids: Vec<f32> = batch.ids.iter().map(|&x| x as f32).collect();
    let mask: Vec<f32> = batch.mask.iter().map(|&x| x as f32).collect();
    assert_eq!(ids, io.values("input_ids"), "input ids");
    assert_eq!(mask, io.values("attention_mask"), "attention mask");

    // Without truncation the long text keeps all its pieces.
    let untruncated = TextTokenizer::from_file(&dir().join("tokenizer.json"), 512).unwrap();
    let long = untruncated.encode(&[refs[7]]).unwrap();
    let ids: Vec<f32> = long.ids.iter().map(|&x| x as f32).collect();
    assert_eq!(ids, io.values("long_text_ids_untruncated"));
}

#[test]
fn tiny_t5_matches_transformers() {
    let device = Device::flex();
    let model = encoder(&device);
    let io = Fixture::load(IO);
    let states = model.forward(
        io.ints("input_ids", &device),
        io.tensor("attention_mask", &device),
    );
    assert_close(
        states,
        io.values("last_hidden_state"),
        TOL,
        "last hidden state",
    );

    let ids = io.ints::<2>("long_input_ids", &device);
    let mask = Tensor::<2>::ones([1, 140], &device);
    assert_close(
        model.forward(ids, mask),
        io.values("long_last_hidden_state"),
        TOL,
        "140-token input",
    );
}

#[test]
fn text_encoder_end_to_end_and_bad_input() {
    let device = Device::flex();
    let model = T5TextEncoder::from_dir_with_max_len(&dir(), 24, &device).unwrap();
    let io = Fixture::load(IO);
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (states, mask) = model.encode(&refs).unwrap();
    assert_eq!(values(mask), io.values("attention_mask"));
    assert_close(states, io.values("last_hidden_state"), TOL, "encode(texts)");

    assert!(model.encode(&[]).is_err(), "an empty batch is an error");
    let (states, mask) = model.encode(&[""]).unwrap();
    assert_eq!(states.dims(), [1, 1, 32]);
    assert_eq!(values(mask), vec![1.0]);
    let long = "rain on a tin roof ".repeat(500);
    let (states, mask) = model.encode(&[long.as_str()]).unwrap();
    assert_eq!(states.dims(), [1, 24, 32]);
    assert!(values(mask).iter().all(|&m| m == 1.0));
}
