//! The bundled universal HiFi-GAN (`assets/models/hifigan-universal`) against jik876's
//! `Generator` running the same float16-rounded weights (fixture by
//! `tests/parity/hifigan_reference.py`), and the mel front end it was trained on.

mod common;

use std::path::PathBuf;

use avsync_engine::dsp::mel::{MelConfig, MelExtractor};
use avsync_engine::pipeline::pretrained_vocoder::{BUNDLED, PretrainedVocoder};
use burn::tensor::Device;
use common::*;

fn bundled() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/models")).join(BUNDLED)
}

/// `max |a - b| / max |b|`.
fn relative_to_peak(actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len());
    let err = actual
        .iter()
        .zip(expected)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    err / expected.iter().fold(0f32, |m, b| m.max(b.abs()))
}

#[test]
fn universal_vocoder_matches_jik876() {
    let device = Device::flex();
    let voc = PretrainedVocoder::from_dir(&bundled(), MelConfig::audioldm(), &device).unwrap();
    let io = Fixture::load("hifigan_universal_io.safetensors");
    let wave = voc.net().forward(io.tensor("log_mel", &device));
    assert_eq!(wave.dims(), [1, 24 * 256]);
    let ours = values(wave);
    let err = relative_to_peak(&ours, io.values("waveform"));
    eprintln!("waveform: max abs error / peak {err:e}");
    assert!(err <= 1e-4, "waveform: max abs error / peak {err:e}");
    // What the float16 weights cost against the original float32 checkpoint (about 1.5e-3).
    let f16 = relative_to_peak(io.values("waveform"), io.values("waveform_f32_weights"));
    assert!(f16 < 5e-3, "float16 weights move the output by {f16:e}");
}

#[test]
fn universal_vocoder_input_is_its_own_mel() {
    // The fixture's input mel is jik876's front end on the stored signal.
    let io = Fixture::load("hifigan_universal_io.safetensors");
    let extractor = MelExtractor::new(MelConfig::hifigan()).unwrap();
    let mel = extractor.log_mel(io.values("signal")).unwrap();
    assert_eq!(mel.n_frames, 24);
    let err = max_rel_err(&mel.data, io.values("log_mel"));
    assert!(err <= 1e-4, "log-mel: {err:e}");
}
