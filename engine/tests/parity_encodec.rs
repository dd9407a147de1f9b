//! EnCodec 24 kHz encoder and residual vector quantizer against transformers' `EncodecModel`
//! (tiny, 24 kHz structure), with the weight-norm pair under both its current and its legacy
//! names: latent at 1e-4, codes exactly, summed codebook embeddings at 1e-4 (fixtures by
//! `tests/parity/encoder_reference.py`).

mod common;

use avsync_engine::AudioBuffer;
use avsync_engine::Error;
use avsync_engine::encoders::encodec::{Encodec, EncodecConfig, prepare_reference_audio};
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;
const IO: &str = "encoders/encodec_tiny_io.safetensors";

fn config() -> EncodecConfig {
    EncodecConfig::from_file(&fixture_path("encoders/encodec_tiny/config.json")).unwrap()
}

fn models(device: &Device) -> Vec<(&'static str, Encodec)> {
    vec![
        (
            "parametrizations",
            Encodec::from_dir(&fixture_path("encoders/encodec_tiny"), device).unwrap(),
        ),
        (
            "weight_g/weight_v",
            Encodec::from_files(
                &config(),
                &[fixture_path("encoders/encodec_tiny_legacy.safetensors")],
                device,
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn bandwidth_rule_and_preset() {
    let cfg = config();
    assert_eq!(
        (cfg.hop_length(), cfg.frame_rate(), cfg.num_quantizers()),
        (320, 75, 32)
    );
    let table: std::collections::BTreeMap<String, usize> =
        serde_json::from_str(&Fixture::metadata(IO, "num_quantizers_per_bandwidth")).unwrap();
    for (bw, n) in table {
        let bw: f64 = bw.parse().unwrap();
        assert_eq!(
            cfg.num_quantizers_for_bandwidth(bw).unwrap(),
            n,
            "{bw} kbps"
        );
    }
    assert!(matches!(
        cfg.num_quantizers_for_bandwidth(5.0),
        Err(Error::InvalidInput(_))
    ));
    let real = EncodecConfig::encodec_24khz();
    assert_eq!((real.hidden_size, real.num_filters), (128, 32));
    assert_eq!(real.num_quantizers(), 32);
    assert_eq!(real.num_quantizers_for_bandwidth(6.0).unwrap(), 8);
}

#[test]
fn tiny_encodec_matches_transformers() {
    let device = Device::flex();
    let io = Fixture::load(IO);
    for (name, model) in models(&device) {
        let wav: Tensor<3> = io.tensor("waveform", &device);
        assert_close(
            model.encode_latent(wav.clone()).unwrap(),
            io.values("encoder_output"),
            TOL,
            &format!("{name}: encoder output"),
        );
        let codes = model.codes(wav.clone(), 6.0).unwrap();
        assert_eq!(codes.dims(), [1, 8, 38]);
        let got: Vec<f32> = codes.into_data().iter::<i64>().map(|c| c as f32).collect();
        assert_eq!(got, io.values("codes_6kbps"), "{name}: codes at 6 kbps");
        for k in [1, 2, 4, 8] {
            let emb = model.embedding(wav.clone(), k).unwrap();
            assert_eq!(emb.dims(), [1, 38, 4], "time-major tokens");
            assert_close(
                emb.swap_dims(1, 2),
                io.values(&format!("quantized_sum_k{k}")),
                TOL,
                &format!("{name}: sum of the first {k} codebooks"),
            );
        }
    }
}

#[test]
fn reference_audio_preparation_and_bad_input() {
    let device = Device::flex();
    let model = Encodec::from_dir(&fixture_path("encoders/encodec_tiny"), &device).unwrap();

    // Empty input is an error, never a panic.
    let empty = Tensor::<3>::zeros([1, 1, 0], &device);
    assert!(matches!(
        model.encode_latent(empty),
        Err(Error::InvalidInput(_))
    ));
    let no_clip = Tensor::<3>::zeros([0, 1, 100], &device);
    assert!(matches!(
        model.codes(no_clip, 6.0),
        Err(Error::InvalidInput(_))
    ));
    let stereo = Tensor::<3>::zeros([1, 2, 100], &device);
    assert!(matches!(
        model.embedding(stereo, 1),
        Err(Error::InvalidInput(_))
    ));
    let wav = Tensor::<3>::zeros([1, 1, 100], &device);
    assert!(matches!(
        model.embedding(wav.clone(), 0),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        model.embedding(wav, 33),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        prepare_reference_audio(&AudioBuffer::new(44_100, 2, vec![]), 24_000, &device),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        prepare_reference_audio(&AudioBuffer::silence(44_100, 1, 10), 0, &device),
        Err(Error::InvalidInput(_))
    ));

    // A single sample: 1 latent frame, finite.
    let one = Tensor::<3>::from_data([[[0.3f32]]], &device);
    let emb = model.embedding(one, 8).unwrap();
    assert_eq!(emb.dims(), [1, 1, 4]);
    assert!(values(emb).iter().all(|v| v.is_finite()));

    // Stereo 44.1 kHz reference -> mono 24 kHz window, cut or padded.
    let frames = 44_100 / 2;
    let samples: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let s = (i as f32 * 0.05).sin() * 0.5;
            [s, -0.5 * s]
        })
        .collect();
    let stereo = AudioBuffer::new(44_100, 2, samples);
    let window = 24_000;
    let x = prepare_reference_audio(&stereo, window, &device).unwrap();
    assert_eq!(x.dims(), [1, 1, window]);
    let v = values(x.clone());
    assert!(
        v[..11_000].iter().any(|&s| s.abs() > 0.1),
        "the clip is kept"
    );
    assert!(
        v[12_100..].iter().all(|&s| s == 0.0),
        "zero-padded after 0.5 s"
    );
    let emb = model.embedding(x, 4).unwrap();
    assert_eq!(emb.dims(), [1, 75, 4]);
    let short = prepare_reference_audio(&stereo, 1000, &device).unwrap();
    assert_eq!(short.dims(), [1, 1, 1000]);

    // Silence and a single sample at another rate are defined.
    for audio in [
        AudioBuffer::silence(48_000, 2, 48_000),
        AudioBuffer::new(16_000, 1, vec![0.7]),
        AudioBuffer::new(44_100, 1, vec![f32::NAN, 0.2]),
    ] {
        let x = prepare_reference_audio(&audio, 4800, &device).unwrap();
        let emb = model.embedding(x, 8).unwrap();
        assert_eq!(emb.dims(), [1, 15, 4]);
        assert!(values(emb).iter().all(|v| v.is_finite()));
    }
}
