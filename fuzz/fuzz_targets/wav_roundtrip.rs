//! The WAV/BWF writer and the reader: whatever audio is written reads back with the same
//! rate, channels and length, and samples equal to the written ones within the format's
//! quantisation (clipped to full scale for integer formats).
#![no_main]

use arbitrary::Arbitrary;
use avsync_engine::AudioBuffer;
use avsync_engine::media::{Bext, DecodeOptions, WavFormat, WavSpec, decode_audio, write_wav};
use avsync_fuzz::scratch_dir;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    format: u8,
    channels: u8,
    rate: u32,
    bext: Option<(String, String, u64, Option<f64>)>,
    samples: Vec<f32>,
}

fuzz_target!(|input: Input| {
    let (format, quantum) = match input.format % 3 {
        0 => (WavFormat::Float32, 0.0),
        1 => (WavFormat::Pcm24, 1.0 / 8_388_608.0),
        _ => (WavFormat::Pcm16, 1.0 / 32_768.0),
    };
    let channels = u16::from(input.channels % 8) + 1;
    let sample_rate = 1_000 + input.rate % 383_001;
    let mut samples: Vec<f32> = input.samples;
    samples.truncate(samples.len() - samples.len() % usize::from(channels));
    let audio = AudioBuffer::new(sample_rate, channels, samples);
    let spec = WavSpec {
        format,
        bext: input
            .bext
            .map(|(description, originator, time_reference, lufs)| Bext {
                description,
                originator,
                originator_reference: String::new(),
                time_reference,
                loudness_lufs: lufs,
                true_peak_dbtp: None,
            }),
    };
    let path = scratch_dir().join("roundtrip.wav");
    let finite = audio.samples.iter().all(|s| s.is_finite());
    let written = write_wav(&path, &audio, &spec);
    assert_eq!(written.is_ok(), finite, "{written:?}");
    if !finite || audio.samples.is_empty() {
        return;
    }
    let back = decode_audio(&path, &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("{sample_rate} Hz, {channels} ch: {e}"));
    assert_eq!(back.sample_rate, sample_rate);
    assert_eq!(back.channels, channels);
    assert_eq!(back.samples.len(), audio.samples.len());
    for (a, b) in audio.samples.iter().zip(&back.samples) {
        let want = if quantum == 0.0 {
            *a
        } else {
            a.clamp(-1.0, 1.0)
        };
        // Half a step of rounding, one of dither (16 bit), and the float error of the scale.
        let tol = 2.0 * quantum + 1e-7;
        assert!((want - b).abs() <= tol, "{a} read back as {b}");
    }
});
