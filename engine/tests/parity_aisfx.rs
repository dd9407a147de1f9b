//! aiSFX sound-effects embeddings against the PyPI package `aisfx` 0.1.2: its librosa front end
//! (HTK / L1 mel filterbank, log compression, 'original' normalisation, blocking) and its
//! `EmbeddingNet` with the shipped float16 weights (fixture by `tests/parity/aisfx_reference.py`).

mod common;

use std::path::PathBuf;

use avsync_engine::Error;
use avsync_engine::audio::AudioBuffer;
use avsync_engine::encoders::aisfx::{Aisfx, AisfxConfig};
use avsync_engine::models::weights::Weights;
use burn::tensor::{Device, Tensor};
use common::*;

const IO: &str = "encoders/aisfx_io.safetensors";
const TOL: f32 = 1e-4;

fn model_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/models/aisfx"
    ))
}

/// `max |a - b| / max |b|`.
fn err_of_max(actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let err = actual
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    err / scale
}

fn check(actual: &[f32], expected: &[f32], what: &str) {
    let err = err_of_max(actual, expected);
    eprintln!("{what}: max error / max |ref| = {err:e}");
    assert!(
        err <= TOL,
        "{what}: max error / max |ref| = {err:e} > {TOL:e}"
    );
}

fn samples(io: &Fixture, name: &str) -> Vec<f32> {
    io.values(&format!("{name}_pcm"))
        .iter()
        .map(|&v| v / 32768.0)
        .collect()
}

#[test]
fn front_end_matches_package() {
    let io = Fixture::load(IO);
    let front =
        avsync_engine::encoders::aisfx::AisfxFrontEnd::new(&AisfxConfig::default()).unwrap();

    let mut reference = vec![0.0f32; 96 * 1025];
    for (&i, &w) in io
        .values("filterbank_index")
        .iter()
        .zip(io.values("filterbank_weight"))
    {
        reference[i as usize] = w;
    }
    check(front.filterbank().weights(), &reference, "filterbank");

    for name in ["long", "short"] {
        let spec = front.spectrogram(&samples(&io, name)).unwrap();
        let key = format!("{name}_spectrogram");
        assert_eq!([spec.n_frames, spec.n_mels], io.shape(&key), "{key}");
        check(&spec.data, io.values(&key), &key);

        let key = format!("{name}_blocks");
        let shape = io.shape(&key);
        assert_eq!(front.block_count(spec.n_frames), shape[0], "{key} count");
        check(&front.blocks(&spec).unwrap(), io.values(&key), &key);
    }
    // Blocking rule: every 50 frames while 100 fit, at least one block.
    for (frames, blocks) in [
        (1, 1),
        (99, 1),
        (100, 1),
        (149, 1),
        (150, 2),
        (216, 3),
        (250, 4),
    ] {
        assert_eq!(front.block_count(frames), blocks, "{frames} frames");
    }
}

#[test]
fn embeddings_match_package() {
    let device = Device::flex();
    let io = Fixture::load(IO);
    let model = Aisfx::from_dir(&model_dir(), &device).unwrap();
    assert_eq!(model.embedding_dim(), 512);

    // The network alone, on the package's blocks.
    for name in ["long", "short"] {
        let out = model
            .embed_blocks(io.tensor(&format!("{name}_blocks"), &device))
            .unwrap();
        let key = format!("{name}_embeddings");
        assert_eq!(out.dims().as_slice(), io.shape(&key));
        check(&values(out), io.values(&key), &format!("{key} (network)"));
    }

    // Samples to embeddings, per block and per clip (both clips batched together).
    let long = samples(&io, "long");
    let short = samples(&io, "short");
    let per_block = model.block_embeddings(&long).unwrap();
    check(
        &values(per_block),
        io.values("long_embeddings"),
        "long_embeddings (samples)",
    );
    let clips = model.clip_embeddings(&[&long, &short]).unwrap();
    assert_eq!(clips.len(), 2);
    check(
        &clips[0],
        io.values("long_clip_embedding"),
        "long_clip_embedding",
    );
    check(
        &clips[1],
        io.values("short_clip_embedding"),
        "short_clip_embedding",
    );

    // Decoded audio: 44.1 kHz dual mono is averaged, not resampled.
    let stereo: Vec<f32> = short.iter().flat_map(|&x| [x, x]).collect();
    let buffer = AudioBuffer::new(44_100, 2, stereo);
    let from_audio = model.clip_embeddings_audio(&[&buffer]).unwrap();
    assert_eq!(from_audio[0], clips[1]);
}

#[test]
fn other_rates_are_resampled() {
    let device = Device::flex();
    let model = Aisfx::from_dir(&model_dir(), &device).unwrap();
    let tone: Vec<f32> = (0..16_000)
        .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin() * 0.3)
        .collect();
    let out = model
        .clip_embeddings_audio(&[&AudioBuffer::new(16_000, 1, tone)])
        .unwrap();
    assert_eq!(out[0].len(), 512);
    assert!(out[0].iter().all(|v| v.is_finite()));
    // Digital silence is a valid clip.
    let silent = model.clip_embeddings(&[&[0.0; 4410]]).unwrap();
    assert!(silent[0].iter().all(|v| v.is_finite()));
}

#[test]
fn bad_inputs_are_errors() {
    let device = Device::flex();
    let missing = std::env::temp_dir().join("avsync-no-such-aisfx-dir");
    match Aisfx::from_dir(&missing, &device) {
        Err(Error::Media { path, .. }) => assert_eq!(path, missing),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a missing directory loaded"),
    }
    let empty_dir = tempfile::tempdir().unwrap();
    let err = Aisfx::from_dir(empty_dir.path(), &device).err().unwrap();
    assert!(err.to_string().contains("config.json"), "{err}");

    let model = Aisfx::from_dir(&model_dir(), &device).unwrap();
    let empty: &[f32] = &[];
    assert!(matches!(
        model.clip_embeddings(&[empty]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        model.clip_embeddings(&[]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        model.clip_embeddings(&[&[0.1, f32::NAN]]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        model.embed_blocks(Tensor::zeros([1, 50, 96], &device)),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        model.embed_blocks(Tensor::zeros([0, 100, 96], &device)),
        Err(Error::InvalidInput(_))
    ));
    let no_channels = AudioBuffer {
        sample_rate: 44_100,
        channels: 0,
        samples: vec![],
    };
    assert!(matches!(
        model.clip_embeddings_audio(&[&no_channels]),
        Err(Error::InvalidInput(_))
    ));
}

/// A safetensors file of a tiny network (hl1 = 2) in the package checkpoint's own layout,
/// with `extra` added under `embedding_net.`.
fn checkpoint_layout(dir: &std::path::Path, extra: bool) -> PathBuf {
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let f32s = |n: usize, base: f32| -> Vec<u8> {
        (0..n)
            .flat_map(|i| (base + 0.01 * (i % 7) as f32).to_le_bytes())
            .collect()
    };
    let widths = [1usize, 2, 4, 8, 16];
    for b in 0..4 {
        let p = format!("embedding_net.conv_block{}", b + 1);
        let (c_in, c_out) = (widths[b], widths[b + 1]);
        for (conv, c) in [("conv1", c_in), ("conv2", c_out)] {
            let shape = vec![c_out, c, 3, 3];
            let n = shape.iter().product();
            tensors.push((
                format!("{p}.{conv}.weight"),
                safetensors::Dtype::F32,
                shape,
                f32s(n, -0.02),
            ));
        }
        for bn in ["bn1", "bn2"] {
            for (name, base) in [
                ("weight", 1.0),
                ("bias", 0.0),
                ("running_mean", 0.0),
                ("running_var", 1.0),
            ] {
                tensors.push((
                    format!("{p}.{bn}.{name}"),
                    safetensors::Dtype::F32,
                    vec![c_out],
                    f32s(c_out, base),
                ));
            }
            tensors.push((
                format!("{p}.{bn}.num_batches_tracked"),
                safetensors::Dtype::I64,
                vec![],
                7i64.to_le_bytes().to_vec(),
            ));
        }
    }
    tensors.push((
        "fc.0.0.weight".into(),
        safetensors::Dtype::F32,
        vec![4, 16],
        f32s(64, 0.0),
    ));
    if extra {
        tensors.push((
            "embedding_net.extra".into(),
            safetensors::Dtype::F32,
            vec![1],
            f32s(1, 0.0),
        ));
    }
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let path = dir.join(if extra {
        "extra.safetensors"
    } else {
        "checkpoint.safetensors"
    });
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    path
}

#[test]
fn package_checkpoint_layout_loads() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let config = AisfxConfig {
        hl1: 2,
        ..AisfxConfig::default()
    };
    let w = Weights::from_files(&[checkpoint_layout(dir.path(), false)], &device).unwrap();
    let model = Aisfx::load(&config, &w).unwrap();
    let out = model
        .embed_blocks(Tensor::ones([2, 100, 96], &device))
        .unwrap();
    assert_eq!(out.dims(), [2, 16]);

    let w = Weights::from_files(&[checkpoint_layout(dir.path(), true)], &device).unwrap();
    let err = Aisfx::load(&config, &w).err().unwrap();
    assert!(err.to_string().contains("embedding_net.extra"), "{err}");
}
