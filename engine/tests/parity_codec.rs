//! The mel VAE and the HiFi-GAN vocoder against diffusers' `AutoencoderKL` and transformers'
//! `SpeechT5HifiGan` (fixtures by `tests/parity/model_reference.py`).

mod common;

use avsync_engine::models::vae::AutoencoderKL;
use avsync_engine::models::vocoder::HifiGan;
use burn::tensor::Device;
use common::*;

const TOL: f32 = 1e-4;

#[test]
fn vae_matches_diffusers() {
    let device = Device::flex();
    let vae = AutoencoderKL::from_dir(&fixture_path("tiny_tango/vae"), &device).unwrap();
    let io = Fixture::load("vae_io.safetensors");
    let (mean, logvar) = vae.encode(io.tensor("mel", &device));
    assert_close(
        mean.clone(),
        io.values("posterior_mean"),
        TOL,
        "posterior mean",
    );
    assert_close(
        logvar,
        io.values("posterior_logvar"),
        TOL,
        "posterior logvar",
    );
    assert_close(
        vae.decode(io.tensor("latent", &device)),
        io.values("decoded"),
        TOL,
        "decoded",
    );
    assert_close(
        vae.decode(mean),
        io.values("reconstruction_of_mean"),
        TOL,
        "reconstruction",
    );
    assert!((vae.scaling_factor() - 0.9227914214134216).abs() < 1e-12);
}

#[test]
fn vocoder_matches_transformers() {
    let device = Device::flex();
    let vocoder = HifiGan::from_dir(&fixture_path("tiny_tango/vocoder"), &device).unwrap();
    let io = Fixture::load("vocoder_io.safetensors");
    let wave = vocoder.forward(io.tensor("log_mel", &device));
    assert_eq!(wave.dims(), [1, 3232]);
    assert_close(wave, io.values("waveform"), TOL, "waveform");
}
