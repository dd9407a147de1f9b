//! Hostile sizes: each is handled within bounded memory or refused with a message naming the
//! file and the limit before any large allocation. The files are built here as headers that
//! declare the size (YUV4MPEG2 pictures, WAV and safetensors headers), so no test writes
//! gigabytes.

use std::path::{Path, PathBuf};

use avsync_engine::features::track::MotionTrack;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::{DecodeOptions, VideoReader, decode_audio, probe};
use avsync_engine::models::weights::read_state;
use avsync_engine::pipeline::conditioning::load_reference;
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_engine::pipeline::request::MAX_PROMPT_BYTES;
use avsync_engine::pipeline::{FeatureCache, GenerationRequest, Model, generate};
use burn::tensor::Device;

/// A YUV4MPEG2 clip of `w x h` pictures at `rate` ("25:1"), with `frames` whole frames, or
/// one frame cut short when `frames` is zero.
fn y4m(dir: &Path, name: &str, (w, h): (usize, usize), rate: &str, frames: usize) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = format!("YUV4MPEG2 W{w} H{h} F{rate} Ip A1:1 C420jpeg\n").into_bytes();
    let frame = w * h * 3 / 2;
    for k in 0..frames.max(1) {
        bytes.extend_from_slice(b"FRAME\n");
        let len = if frames == 0 { 64 } else { frame };
        bytes.extend((0..len).map(|i| ((i / w + k * 7) % 200) as u8 + 20));
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A 16-bit mono WAV whose header declares `declared_s` seconds but which holds `held_s`.
fn wav_declaring(
    dir: &Path,
    name: &str,
    rate: u32,
    channels: u16,
    declared_s: f64,
    held_s: f64,
) -> PathBuf {
    let path = dir.join(name);
    let block = 2 * u32::from(channels);
    let data_len = (declared_s * f64::from(rate)) as u32 * block;
    let held = (held_s * f64::from(rate)) as usize * block as usize;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend((0..held).map(|i| ((i * 37) % 251) as u8));
    std::fs::write(&path, b).unwrap();
    path
}

#[test]
fn a_16k_picture_is_refused_and_an_8k_one_analysed() {
    let dir = tempfile::tempdir().unwrap();
    // FFmpeg itself refuses 16K x 16K at opening; the message still names the file.
    let sixteen = y4m(dir.path(), "sixteen.y4m", (16_384, 16_384), "25:1", 0);
    let e = probe(&sixteen).unwrap_err().to_string();
    assert!(
        e.contains("sixteen.y4m") && e.contains("cannot be opened"),
        "{e}"
    );
    // Wider than 8K: FFmpeg would decode it; the editor refuses before the first picture.
    let huge = y4m(dir.path(), "huge.y4m", (8200, 64), "25:1", 1);
    let v = probe(&huge).unwrap().video.unwrap();
    assert_eq!((v.width, v.height), (8200, 64));
    let e = VideoReader::open(&huge).err().unwrap().to_string();
    assert!(
        e.contains("huge.y4m") && e.contains("8200 x 64") && e.contains("8192"),
        "{e}"
    );
    let e = MotionTrack::analyse(&huge, (0.0, 1.0), 4)
        .unwrap_err()
        .to_string();
    assert!(e.contains("limit"), "{e}");

    let uhd = y4m(dir.path(), "uhd.y4m", (7680, 4320), "25:1", 2);
    let track = MotionTrack::analyse(&uhd, (0.0, 0.08), 4).unwrap();
    assert_eq!(track.len(), 2);
}

#[test]
fn long_short_and_rateless_clips_are_bounded_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    init_model_dir(Preset::Tiny, "tiny", &dir.path().join("m"), &device).unwrap();
    let model = Model::load(&dir.path().join("m"), &device).unwrap();
    let run = |req: &GenerationRequest| {
        generate(&model, req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
    };
    let quick = |video: &Path| {
        let mut r = GenerationRequest::new(video);
        r.keep = 1;
        r.gmds = GmdsSettings {
            population: 1,
            iterations: 0,
            ..GmdsSettings::default()
        };
        r.search_steps = None;
        r.sampler.steps = 2;
        r
    };

    // Ten hours (one frame an hour): refused before any analysis.
    let long = y4m(dir.path(), "long.y4m", (16, 16), "1:3600", 11);
    assert!(probe(&long).unwrap().duration_s > 10.0 * 3600.0);
    let e = run(&quick(&long)).unwrap_err().to_string();
    assert!(
        e.contains("long.y4m") && e.contains("at most 20 min"),
        "{e}"
    );
    // A part of it is generated, its one picture analysed once.
    let part = GenerationRequest {
        start_s: Some(0.0),
        end_s: Some(5.0),
        ..quick(&long)
    };
    let report = run(&part).unwrap().unwrap();
    assert_eq!(report.candidates[0].audio.len(), 5 * SAMPLE_RATE as usize);

    // One frame.
    let one = y4m(dir.path(), "one.y4m", (32, 16), "25:1", 1);
    let report = run(&quick(&one)).unwrap().unwrap();
    assert_eq!(report.candidates[0].audio.len(), SAMPLE_RATE as usize / 25);

    // No frame rate at all.
    let rateless = y4m(dir.path(), "rateless.y4m", (32, 16), "0:0", 3);
    if let Err(e) = run(&quick(&rateless)) {
        assert!(e.to_string().contains("rateless.y4m"), "{e}");
    }
}

#[test]
fn a_megabyte_prompt_is_refused() {
    let mut req = GenerationRequest::new("clip.mp4");
    req.text = "footsteps on gravel ".repeat(50_000);
    let e = req.validate().unwrap_err().to_string();
    assert!(
        e.contains("prompt") && e.contains(&MAX_PROMPT_BYTES.to_string()),
        "{e}"
    );
    req.text = "footsteps".into();
    req.negative = "x".repeat(MAX_PROMPT_BYTES + 1);
    assert!(
        req.validate()
            .unwrap_err()
            .to_string()
            .contains("negative prompt")
    );
}

#[test]
fn an_hour_of_reference_sound_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    // A real hour (4 kHz, 16-bit: 29 MB), not only a header that says so.
    let hour = wav_declaring(dir.path(), "hour.wav", 4_000, 1, 3600.0, 3600.0);
    let e = load_reference(&hour).unwrap_err().to_string();
    assert!(e.contains("hour.wav") && e.contains("limit"), "{e}");
    // A header that claims an hour over half a second of data is read as what it holds.
    let claim = wav_declaring(dir.path(), "claim.wav", 16_000, 1, 3600.0, 0.5);
    assert_eq!(load_reference(&claim).unwrap().samples.len(), 8000);
}

#[test]
fn many_channels_are_mixed_down_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wide = wav_declaring(dir.path(), "wide.wav", 16_000, 256, 0.1, 0.1);
    match decode_audio(&wide, &DecodeOptions::to(16_000, 1)) {
        Ok(audio) => assert_eq!((audio.channels, audio.samples.len()), (1, 1600)),
        Err(e) => assert!(e.to_string().contains("wide.wav"), "{e}"),
    }
}

#[test]
fn a_declared_20_gb_tensor_is_refused_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.safetensors");
    let header = br#"{"w":{"dtype":"F32","shape":[100000,50000],"data_offsets":[0,20000000000]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 16]);
    std::fs::write(&path, bytes).unwrap();
    let e = read_state(&path).unwrap_err().to_string();
    assert!(
        e.contains("huge.safetensors") && e.contains("invalid safetensors"),
        "{e}"
    );
}
