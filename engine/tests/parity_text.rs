//! Text encoders against transformers and sentence-transformers: a tiny random BERT at 1e-4,
//! and the real all-MiniLM-L6-v2 the default model ships (float16 weights) at cosine 0.9999,
//! tokenizer ids included (fixtures by `tests/parity/encoder_reference.py`).

mod common;

use avsync_engine::encoders::bert::{Bert, BertConfig};
use avsync_engine::encoders::minilm::MiniLm;
use avsync_engine::models::weights::Weights;
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;

#[test]
fn tiny_bert_matches_transformers() {
    let device = Device::flex();
    let dir = fixture_path("encoders/bert_tiny");
    let cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
    let bert = Bert::load(
        &cfg,
        &Weights::from_files(&[dir.join("model.safetensors")], &device).unwrap(),
    )
    .unwrap();
    let io = Fixture::load("encoders/bert_tiny_io.safetensors");
    let mask: Tensor<2> = io.tensor("attention_mask", &device);
    let states = bert.forward(
        io.ints("input_ids", &device),
        mask.clone(),
        Some(io.ints("token_type_ids", &device)),
    );
    assert_close(
        states.clone(),
        io.values("last_hidden_state"),
        TOL,
        "last hidden state",
    );
    assert_close(
        Bert::sentence_embedding(states, mask),
        io.values("mean_pooled_normalized"),
        TOL,
        "sentence embedding",
    );
}

fn minilm(device: &Device) -> MiniLm {
    MiniLm::from_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/models/minilm"),
        device,
    )
    .unwrap()
}

#[test]
fn real_minilm_tokens_and_embeddings_match_sentence_transformers() {
    let device = Device::flex();
    let model = minilm(&device);
    let name = "encoders/minilm_real_io.safetensors";
    let io = Fixture::load(name);
    let sentences: Vec<String> =
        serde_json::from_str(&Fixture::metadata(name, "sentences")).unwrap();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();

    // Token ids: the reference pads to 256; ours pads to the batch's longest.
    let batch = model.tokenizer.encode(&texts).unwrap();
    let ref_ids = io.values("input_ids");
    let ref_mask = io.values("attention_mask");
    let width = io.shape("input_ids")[1];
    for (i, text) in texts.iter().enumerate() {
        let n = ref_mask[i * width..(i + 1) * width]
            .iter()
            .filter(|&&m| m == 1.0)
            .count();
        let ours: Vec<f32> = batch.ids[i * batch.len..i * batch.len + n]
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_eq!(ours, ref_ids[i * width..i * width + n], "ids of {text:?}");
        let rest = &batch.mask[i * batch.len + n..(i + 1) * batch.len];
        assert!(
            rest.iter().all(|&m| m == 0),
            "{text:?}: {n} reference tokens, mask {:?}",
            &batch.mask[i * batch.len..(i + 1) * batch.len]
        );
    }

    let emb = values(model.sentence_embeddings(&texts).unwrap());
    let reference = io.values("sentence_embedding");
    let d = 384;
    for (i, text) in texts.iter().enumerate() {
        let (a, b) = (&emb[i * d..(i + 1) * d], &reference[i * d..(i + 1) * d]);
        let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
            / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
                * b.iter().map(|x| x * x).sum::<f32>().sqrt());
        eprintln!("cosine {cos:.6} for {text:?}");
        assert!(cos >= 0.9999, "cosine {cos} for {text:?}");
    }
}

#[test]
fn bad_text_inputs_are_defined() {
    let device = Device::flex();
    let model = minilm(&device);
    assert!(model.encode(&[]).is_err());
    let (states, mask) = model.encode(&[""]).unwrap();
    assert_eq!(states.dims(), [1, 2, 384]);
    assert_eq!(values(mask), vec![1.0, 1.0]);
    let long = "gravel crunch ".repeat(1000);
    let (states, _) = model.encode(&[long.as_str()]).unwrap();
    assert_eq!(states.dims()[1], 256);
}
