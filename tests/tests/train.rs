//! The trainer on a tiny library of synthetic sounds and the tiny model: a set is built from a
//! folder (captions, skips, split, licences), every stage runs a few steps, writes its result
//! into the model, and a stopped run resumes where it left off. These check the machinery,
//! not audio quality.

use std::path::Path;

use avsync_engine::AudioBuffer;
use avsync_engine::features::track::{MotionTokens, MotionTrack};
use avsync_engine::media::probe;
use avsync_engine::media::{WavSpec, write_wav};
use avsync_engine::pipeline::Model;
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_engine::train::dataset::{DatasetOptions, SoundSet, Split, build_dataset};
use avsync_engine::train::heads::{Embeddings, train_heads};
use avsync_engine::train::synth::{ClipSpec, write_eval_clips};
use avsync_engine::train::{TrainRun, TrainSettings, diffusion, vae, vocoder};
use burn::tensor::Device;

/// A library of decaying tones and noise bursts in captioned folders, one voice line and one
/// LICENSE file.
fn library(root: &Path) {
    let sr = SAMPLE_RATE as f32;
    for (folder, freq) in [("bells", 880.0f32), ("drums", 0.0), ("whistles", 2000.0)] {
        let dir = root.join("sfx").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..6 {
            let n = (0.3 * sr) as usize + 800 * k;
            let mut state = 12345u32 + k as u32;
            let samples: Vec<f32> = (0..n)
                .map(|i| {
                    let env = (-(i as f32) / (0.08 * sr)).exp();
                    let x = if freq > 0.0 {
                        (std::f32::consts::TAU * freq * i as f32 / sr).sin()
                    } else {
                        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
                    };
                    0.5 * env * x
                })
                .collect();
            let audio = AudioBuffer::new(SAMPLE_RATE, 1, samples);
            write_wav(
                &dir.join(format!("{folder}_{k}.wav")),
                &audio,
                &WavSpec::default(),
            )
            .unwrap();
        }
    }
    let voice = root.join("sfx").join("voice");
    std::fs::create_dir_all(&voice).unwrap();
    let audio = AudioBuffer::new(SAMPLE_RATE, 1, vec![0.1; 8000]);
    write_wav(&voice.join("hello.wav"), &audio, &WavSpec::default()).unwrap();
    std::fs::write(root.join("sfx").join("LICENSE"), "licence: CC0-1.0\n").unwrap();
}

#[test]
fn long_recordings_become_pieces_in_one_split() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sfx").join("ambience");
    std::fs::create_dir_all(&dir).unwrap();
    // 7 s of rain-like noise: with 3 s pieces, three pieces of 7/3 s.
    let mut state = 7u32;
    let samples: Vec<f32> = (0..7 * SAMPLE_RATE as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            0.2 * ((state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0)
        })
        .collect();
    let audio = AudioBuffer::new(SAMPLE_RATE, 1, samples);
    write_wav(&dir.join("rain.wav"), &audio, &WavSpec::default()).unwrap();
    let opts = DatasetOptions {
        max_seconds: 3.0,
        ..DatasetOptions::default()
    };
    let out = tmp.path().join("set");
    let index = build_dataset(&tmp.path().join("sfx"), &out, &opts, |_, _| {}).unwrap();
    let names: Vec<&str> = index.sounds.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(
        names,
        [
            "ambience/rain.wav#1",
            "ambience/rain.wav#2",
            "ambience/rain.wav#3"
        ]
    );
    assert!(
        index
            .sounds
            .iter()
            .all(|s| s.split == index.sounds[0].split)
    );
    assert!(index.sounds.iter().all(|s| s.caption == "rain ambience"));
    let total: usize = index.sounds.iter().map(|s| s.len).sum();
    let (short, long) = index
        .sounds
        .iter()
        .fold((usize::MAX, 0), |(a, b), s| (a.min(s.len), b.max(s.len)));
    assert!(
        long - short <= 2 && total > 6 * SAMPLE_RATE as usize,
        "equal pieces"
    );
    let too_long = DatasetOptions {
        max_file_seconds: 5.0,
        ..opts
    };
    let e = build_dataset(&tmp.path().join("sfx"), &out, &too_long, |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("no usable"), "{e}");
}

fn settings(steps: usize) -> TrainSettings {
    TrainSettings {
        steps,
        batch: 2,
        learning_rate: 1e-3,
        warmup: 1,
        checkpoint_every: 2,
        ..TrainSettings::default()
    }
}

fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn a_library_becomes_a_captioned_split_set() {
    let tmp = tempfile::tempdir().unwrap();
    library(tmp.path());
    let out = tmp.path().join("set");
    let opts = DatasetOptions {
        validation_fraction: 0.3,
        ..DatasetOptions::default()
    };
    let index = build_dataset(&tmp.path().join("sfx"), &out, &opts, |_, _| {}).unwrap();
    assert_eq!(index.sounds.len(), 18);
    assert_eq!(index.skipped.len(), 1, "{:?}", index.skipped);
    assert!(index.skipped[0].source.contains("voice"));
    assert!(index.sounds.iter().all(|s| s.licence == "CC0-1.0"));
    let bells = index
        .sounds
        .iter()
        .find(|s| s.source.contains("bells_2"))
        .unwrap();
    assert_eq!(bells.caption, "bells");
    let set = SoundSet::open(&out).unwrap();
    assert_eq!(
        set.split(Split::Train).len() + set.split(Split::Validation).len(),
        18
    );
    assert!(!set.split(Split::Validation).is_empty());
    // Trimmed at the model rate, quantised to 16 bits.
    let s = set.samples(0);
    assert!(s.len() > 1000 && s.iter().all(|x| x.abs() <= 0.5 + 1e-3));
    // Building again gives the same split.
    let again = build_dataset(&tmp.path().join("sfx"), &out, &opts, |_, _| {}).unwrap();
    assert_eq!(again, index);

    // Evaluation clips: the rendered picture with the sound as its track, listed for eval.
    let spec = ClipSpec {
        window_s: 1.0,
        frame_count: 8,
        grid: 4,
        tokens: MotionTokens::Kinematic,
    };
    let csv = write_eval_clips(&set, &spec, 2, 1, &tmp.path().join("eval")).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let clip = tmp.path().join("eval/clip_0000.mkv");
    let info = probe(&clip).unwrap();
    let video = info.video.unwrap();
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("ffv1", 128, 72)
    );
    assert_eq!(info.audio.len(), 1);
    let track = MotionTrack::analyse(&clip, (0.0, 1.0), 4).unwrap();
    // Somewhere in the picture something moves (the object may be small).
    assert!(
        track.cells.iter().flatten().any(|&e| e > 0.01),
        "the picture moves"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = build_dataset(&empty, &out, &opts, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty") && e.contains("no sound files"), "{e}");
}

#[test]
fn every_stage_trains_writes_the_model_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    library(tmp.path());
    let set_dir = tmp.path().join("set");
    build_dataset(
        &tmp.path().join("sfx"),
        &set_dir,
        &DatasetOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let set = SoundSet::open(&set_dir).unwrap();
    let model = tmp.path().join("model");
    let device = Device::flex();
    init_model_dir(Preset::Tiny, "tiny", &model, &device).unwrap();
    let runs = tmp.path().join("runs");
    let mut quiet = |_: &avsync_engine::train::TrainProgress| {};

    // (a) VAE: weights change and the latent scale is measured.
    let vae_file = model.join("vae/diffusion_pytorch_model.safetensors");
    let before = file_bytes(&vae_file);
    let mut run = TrainRun::open(&runs.join("vae"), vae::STAGE, &settings(2)).unwrap();
    vae::train_vae(&model, &set, &mut run, &device, &mut quiet).unwrap();
    assert_ne!(file_bytes(&vae_file), before);
    let cfg: serde_json::Value =
        serde_json::from_slice(&file_bytes(&model.join("vae/config.json"))).unwrap();
    let scale = cfg["scaling_factor"].as_f64().unwrap();
    assert!(scale.is_finite() && scale > 0.0 && scale != 0.9227914214134216);
    assert_eq!(run.state.step, 2);
    assert!(run.state.last_losses["loss"].is_finite());

    // (b) vocoder.
    let voc_file = model.join("vocoder/model.safetensors");
    let before = file_bytes(&voc_file);
    let mut run = TrainRun::open(&runs.join("vocoder"), vocoder::STAGE, &settings(2)).unwrap();
    vocoder::train_vocoder(&model, &set, &mut run, &device, &mut quiet).unwrap();
    assert_ne!(file_bytes(&voc_file), before);

    // (c) U-Net and adapters: two steps, then a resumed run to four.
    let unet_file = model.join("unet/diffusion_pytorch_model.safetensors");
    let adapter_file = model.join("adapter/adapter.safetensors");
    let (u0, a0) = (file_bytes(&unet_file), file_bytes(&adapter_file));
    let dir = runs.join("unet");
    let mut run = TrainRun::open(&dir, diffusion::STAGE, &settings(2)).unwrap();
    diffusion::train_unet(&model, &set, &mut run, &device, &mut quiet).unwrap();
    assert_ne!(file_bytes(&unet_file), u0);
    assert_ne!(file_bytes(&adapter_file), a0);
    // Steps logged after the last checkpoint by an interrupted run are forgotten on resume.
    let log = dir.join("loss.csv");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("3,9.9,1.0\n");
    std::fs::write(&log, text).unwrap();
    let mut resumed = TrainRun::open(&dir, diffusion::STAGE, &settings(4)).unwrap();
    assert!(resumed.resumed());
    assert_eq!(resumed.state.step, 2);
    diffusion::train_unet(&model, &set, &mut resumed, &device, &mut quiet).unwrap();
    assert_eq!(resumed.state.step, 4);
    let log = std::fs::read_to_string(dir.join("loss.csv")).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    // A run directory of another stage is refused.
    let e = TrainRun::open(&dir, vae::STAGE, &settings(2))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unet"), "{e}");

    // (d) heads: the model gains heads, and retrieval is measured.
    let aisfx = avsync_engine::pipeline::model::load_aisfx(&device).unwrap();
    let minilm = avsync_engine::encoders::minilm::MiniLm::from_dir(
        &avsync_engine::pipeline::model::assets_dir()
            .join("models")
            .join("minilm"),
        &device,
    )
    .unwrap();
    let emb = Embeddings::compute(&set, &aisfx, &minilm).unwrap();
    assert_eq!(emb.captions.len(), 3);
    let mut run = TrainRun::open(&runs.join("heads"), "heads", &settings(3)).unwrap();
    let r = train_heads(&model, &set, &emb, &mut run, &device, &mut quiet).unwrap();
    assert!((0.0..=1.0).contains(&r.audio_to_text_top1));
    assert!(model.join("heads/heads.safetensors").exists());

    // Validation measures of each part are finite.
    assert!(
        vae::validate_vae(&model, &set, 4, &device)
            .unwrap()
            .is_finite()
    );
    let v = vocoder::validate_vocoder(&model, &set, 2, &device).unwrap();
    assert!(v.mel_l1.is_finite() && v.griffin_lim_mel_l1.is_finite());
    let d = diffusion::validate_unet(&model, &set, 3, &device).unwrap();
    assert!(d.loss.is_finite() && d.loss_without_picture.is_finite());
    assert_ne!(d.loss, d.loss_without_text);

    // The trained model still loads and has the shapes it had.
    let m = Model::load(&model, &device).unwrap();
    assert_eq!(m.latent_shape, [8, 64, 16]);
}
