//! The media layer on real files: probing, frame timing at common and variable frame rates,
//! audio decoding of every common format, WAV export, muxing, and every kind of bad input.

use avsync_engine::media::{
    self, DecodeOptions, MuxOptions, VideoReader, WavFormat, WavSpec, decode_audio, mux_audio,
    probe, resample, write_wav,
};
use avsync_engine::{AudioBuffer, Error};
use avsync_tests::*;

fn tone(rate: u32, seconds: f64, hz: f64) -> AudioBuffer {
    let n = (seconds * f64::from(rate)) as usize;
    let s = (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as f32)
        .collect();
    AudioBuffer::new(rate, 1, s)
}

#[test]
fn probe_reports_exact_rates_and_counts() {
    for (file, rate, frames) in [
        ("cfr_23976.mp4", (24000, 1001), 24),
        ("cfr_25.mp4", (25, 1), 25),
        ("cfr_2997.mp4", (30000, 1001), 30),
        ("cfr_60.mp4", (60, 1), 60),
    ] {
        let info = probe(&media(file)).unwrap();
        let v = info.video.as_ref().unwrap();
        assert_eq!(v.frame_rate, rate, "{file}");
        assert!(v.constant_frame_rate, "{file}");
        assert_eq!(v.frame_count, frames, "{file}");
        let expected = frames as f64 * rate.1 as f64 / rate.0 as f64;
        assert!(
            (v.duration_s - expected).abs() < 1.0 / v.fps,
            "{file}: {}",
            v.duration_s
        );
        assert_eq!((v.width, v.height), (64, 48));
        assert!(info.audio.is_empty());
    }
}

#[test]
fn frame_at_returns_last_frame_not_after_t() {
    for file in ["cfr_23976.mp4", "cfr_25.mp4", "cfr_2997.mp4", "cfr_60.mp4"] {
        let info = probe(&media(file)).unwrap();
        let fps = info.video.unwrap().fps;
        let mut reader = VideoReader::open(&media(file)).unwrap();
        // Out of order on purpose: backwards jumps must seek.
        for k in [0usize, 7, 3, 12, 1, 19] {
            for frac in [0.0, 0.3, 0.97] {
                let t = (k as f64 + frac) / fps;
                let f = reader.frame_at(t, 32, 24).unwrap();
                assert_eq!(frame_number(&f.data), k, "{file} t={t}");
                assert!(
                    (f.pts_s - k as f64 / fps).abs() < 1e-3,
                    "{file} pts {}",
                    f.pts_s
                );
            }
        }
    }
}

#[test]
fn uniform_sampling_matches_single_frames() {
    let path = media("cfr_2997.mp4");
    let times = media::uniform_times(0.0, 1.0, 16);
    let batch = VideoReader::open(&path)
        .unwrap()
        .frames_at(&times, 16, 16)
        .unwrap();
    assert_eq!(batch.len(), 16);
    for (t, f) in times.iter().zip(&batch) {
        let single = VideoReader::open(&path)
            .unwrap()
            .frame_at(*t, 16, 16)
            .unwrap();
        assert_eq!(single, *f);
        assert!(f.pts_s <= *t + 1e-9 && *t - f.pts_s < 1.0 / 29.97);
    }
}

#[test]
fn variable_frame_rate_follows_timestamps() {
    let path = media("vfr.mkv");
    let v = probe(&path).unwrap().video.unwrap();
    assert!(!v.constant_frame_rate);
    assert_eq!(v.frame_count, 20);
    let mut reader = VideoReader::open(&path).unwrap();
    // Frames 0-9 every 40 ms, frames 10-19 every 100 ms from 0.4 s.
    for (t, k) in [
        (0.0, 0),
        (0.039, 0),
        (0.041, 1),
        (0.399, 9),
        (0.4, 10),
        (0.55, 11),
        (1.25, 18),
        (1.31, 19),
        (5.0, 19),
    ] {
        let f = reader.frame_at(t, 8, 8).unwrap();
        assert_eq!(frame_number(&f.data), k, "t={t}");
    }
}

#[test]
fn odd_sizes_and_rotation_are_respected() {
    let mut reader = VideoReader::open(&media("odd_321x241.mp4")).unwrap();
    let f = reader.frame_at(0.2, 321, 241).unwrap();
    assert_eq!(f.data.len(), 321 * 241 * 3);
    assert_eq!(frame_number(&f.data), 5);
    let g = reader.frame_at(0.3, 224, 224).unwrap();
    assert_eq!(g.data.len(), 224 * 224 * 3);

    let info = probe(&media("rotated.mp4")).unwrap().video.unwrap();
    assert_eq!(info.rotation_deg, 270);
    let f = VideoReader::open(&media("rotated.mp4"))
        .unwrap()
        .frame_at(0.0, 48, 64)
        .unwrap();
    assert_eq!((f.width, f.height, f.data.len()), (48, 64, 48 * 64 * 3));
}

#[test]
fn a_photograph_gives_its_picture() {
    // A JPEG cannot seek: the first picture comes from where the reader starts.
    let f = VideoReader::open(&media("still.jpg"))
        .unwrap()
        .frame_at(0.0, 48, 32)
        .unwrap();
    assert_eq!(f.data.len(), 48 * 32 * 3);
    assert!(f.data.iter().any(|&v| v > 100) && f.data.iter().any(|&v| v < 100));
}

#[test]
fn every_common_audio_format_decodes_to_the_requested_layout() {
    for file in [
        "tone.wav",
        "tone.flac",
        "tone.mp3",
        "tone.ogg",
        "tone.opus",
        "tone.m4a",
        "with_audio.mp4",
    ] {
        let audio = decode_audio(&media(file), &DecodeOptions::to(16_000, 1)).unwrap();
        assert_eq!((audio.sample_rate, audio.channels), (16_000, 1), "{file}");
        assert!(
            (audio.duration_s() - 1.0).abs() < 0.08,
            "{file}: {} s",
            audio.duration_s()
        );
        let hz = if file == "with_audio.mp4" {
            440.0
        } else {
            1000.0
        };
        let mid = &audio.samples[2000..14000];
        assert!((zero_crossing_hz(mid, 16_000) - hz).abs() < 5.0, "{file}");
        // FFmpeg's sine source has amplitude 1/8; its mono-to-stereo up-mix (the stereo files)
        // lowers each channel by 3 dB.
        let expected = if matches!(file, "tone.wav" | "with_audio.mp4") {
            0.125 * std::f32::consts::FRAC_1_SQRT_2
        } else {
            0.125
        };
        let peak = mid.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - expected).abs() < 0.02, "{file}: peak {peak}");
    }
    let stereo = decode_audio(&media("tone.wav"), &DecodeOptions::default()).unwrap();
    assert_eq!(
        (stereo.sample_rate, stereo.channels, stereo.frames()),
        (44_100, 2, 44_100)
    );
}

#[test]
fn duration_guard_refuses_long_audio() {
    let opts = DecodeOptions {
        max_duration_s: 0.5,
        ..DecodeOptions::to(16_000, 1)
    };
    let err = decode_audio(&media("tone.flac"), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tone.flac") && err.contains("limit"), "{err}");
}

/// Decoding only a file's head stops reading there, gives exactly that much audio (the same
/// samples as a whole decode), and leaves the length limit to whole decodes.
#[test]
fn a_head_decodes_the_start_only() {
    let whole = decode_audio(&media("tone.flac"), &DecodeOptions::to(16_000, 1)).unwrap();
    let opts = DecodeOptions {
        max_duration_s: 0.5,
        head_s: Some(0.75),
        ..DecodeOptions::to(16_000, 1)
    };
    let head = decode_audio(&media("tone.flac"), &opts).unwrap();
    assert_eq!(head.frames(), 12_000);
    let err = head
        .samples
        .iter()
        .zip(&whole.samples)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-6, "{err}");
    // A head longer than the file is the whole file.
    let opts = DecodeOptions {
        head_s: Some(3600.0),
        ..DecodeOptions::to(16_000, 1)
    };
    assert_eq!(
        decode_audio(&media("tone.flac"), &opts).unwrap().frames(),
        whole.frames()
    );
}

#[test]
fn resampling_keeps_length_and_pitch() {
    let a = tone(16_000, 2.0, 1000.0);
    let b = resample(&a, 48_000, 2).unwrap();
    assert_eq!((b.frames(), b.channels), (96_000, 2));
    assert!((zero_crossing_hz(&b.channel(0)[4800..91200], 48_000) - 1000.0).abs() < 2.0);
    // Alignment: the resampled signal is not delayed.
    let c = resample(&b, 16_000, 1).unwrap();
    let err = a.samples[100..31_900]
        .iter()
        .zip(&c.samples[100..31_900])
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(err < 0.01, "round trip error {err}");
}

#[test]
fn wav_round_trips_through_the_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let a = resample(&tone(48_000, 0.5, 440.0), 48_000, 2).unwrap();
    for (format, tol) in [
        (WavFormat::Pcm24, 1.5 / 8_388_608.0),
        (WavFormat::Float32, 0.0),
        (WavFormat::Pcm16, 2.0 / 32_768.0),
    ] {
        let path = dir.path().join(format!("{format:?}.wav"));
        write_wav(&path, &a, &WavSpec { format, bext: None }).unwrap();
        let b = decode_audio(&path, &DecodeOptions::default()).unwrap();
        assert_eq!(
            (b.sample_rate, b.channels, b.frames()),
            (48_000, 2, a.frames())
        );
        let err = a
            .samples
            .iter()
            .zip(&b.samples)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(err <= tol as f32, "{format:?}: {err}");
    }
}

/// Every packet of stream `index`, in order.
fn packets(path: &std::path::Path, kind: ffmpeg_next::media::Type) -> Vec<Vec<u8>> {
    let mut ictx = ffmpeg_next::format::input(path).unwrap();
    let index = ictx.streams().best(kind).unwrap().index();
    ictx.packets()
        .filter(|(s, _)| s.index() == index)
        .map(|(_, p)| p.data().unwrap_or_default().to_vec())
        .collect()
}

#[test]
fn mux_copies_picture_and_carries_the_soundtrack() {
    let dir = tempfile::tempdir().unwrap();
    let video = media("cfr_25.mp4");
    let soundtrack = tone(48_000, 1.0, 440.0);
    for ext in ["mp4", "mov", "mkv"] {
        let out = dir.path().join(format!("out.{ext}"));
        let report = mux_audio(&video, &soundtrack, &out, &MuxOptions::default()).unwrap();
        assert_eq!(report.path, out);
        let info = probe(&out).unwrap();
        let v = info.video.as_ref().unwrap();
        assert_eq!((v.codec.as_str(), v.frame_count), ("h264", 25), "{ext}");
        assert_eq!(info.audio.len(), 1);
        assert_eq!(
            info.audio[0].codec,
            if ext == "mp4" { "aac" } else { "pcm_s24le" }
        );
        assert!(
            (info.duration_s - 1.0).abs() <= 0.04,
            "{ext}: {}",
            info.duration_s
        );
        assert_eq!(
            packets(&out, ffmpeg_next::media::Type::Video),
            packets(&video, ffmpeg_next::media::Type::Video),
            "{ext}"
        );

        let back = decode_audio(&out, &DecodeOptions::to(48_000, 1)).unwrap();
        assert!(
            (back.frames() as i64 - 48_000).abs() <= 1024,
            "{ext}: {} frames",
            back.frames()
        );
        let n = back.frames().min(48_000) - 2048;
        let err = soundtrack.samples[1024..n]
            .iter()
            .zip(&back.samples[1024..n])
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        let tol = if ext == "mp4" { 0.05 } else { 1e-6 };
        assert!(err < tol, "{ext}: max error {err}");
    }
}

#[test]
fn mux_offset_shifts_by_whole_frames_and_keeps_original_audio() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shifted.mkv");
    let soundtrack = tone(48_000, 1.0, 440.0);
    let opts = MuxOptions {
        offset_frames: 3,
        keep_original_audio: true,
    };
    let report = mux_audio(&media("with_audio.mp4"), &soundtrack, &out, &opts).unwrap();
    assert_eq!(report.offset_samples, 3 * 48_000 / 25);
    let info = probe(&out).unwrap();
    assert_eq!(info.audio.len(), 2);
    assert_eq!(info.audio[0].codec, "pcm_s24le");
    assert_eq!(info.audio[1].codec, "aac");
    let back = decode_audio(&out, &DecodeOptions::to(48_000, 1)).unwrap();
    let first = back.samples.iter().position(|s| s.abs() > 1e-4).unwrap();
    assert_eq!(
        first,
        5760 + 1,
        "the tone starts after 3 frames (its first sample is 0)"
    );
}

#[test]
fn bad_inputs_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let err = probe(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.mp4"));

    let empty = empty_file(dir.path(), "empty.mp4");
    let err = probe(&empty).unwrap_err().to_string();
    assert!(err.contains("empty.mp4") && err.contains("empty"), "{err}");

    let truncated = truncated_copy(&media("with_audio.mp4"), dir.path());
    let err = probe(&truncated).unwrap_err().to_string();
    assert!(err.contains("truncated-with_audio.mp4"), "{err}");

    let err = decode_audio(&media("cfr_25.mp4"), &DecodeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cfr_25.mp4") && err.contains("no audio stream"),
        "{err}"
    );

    let err = VideoReader::open(&media("tone.mp3"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("tone.mp3") && err.contains("no video stream"),
        "{err}"
    );
    assert!(probe(&media("tone.mp3")).unwrap().video.is_none());

    let mut reader = VideoReader::open(&media("cfr_25.mp4")).unwrap();
    assert!(reader.frames_at(&[], 8, 8).is_err());
    assert!(reader.frames_at(&[0.5, 0.1], 8, 8).is_err());
    assert!(reader.frame_at(f64::NAN, 8, 8).is_err());
    assert!(reader.frame_at(0.0, 0, 8).is_err());
}

#[test]
fn a_file_replaced_after_probing_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::copy(media("with_audio.mp4"), &clip).unwrap();
    let info = probe(&clip).unwrap();
    assert!(info.video.is_some() && !info.audio.is_empty());
    let mut open = VideoReader::open(&clip).unwrap();
    // Replaced by a picture-only clip, then by a truncated one, then by text.
    std::fs::copy(media("cfr_25.mp4"), &clip).unwrap();
    let err = decode_audio(&clip, &DecodeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clip.mp4") && err.contains("no audio stream"),
        "{err}"
    );
    let truncated = truncated_copy(&media("with_audio.mp4"), dir.path());
    std::fs::rename(&truncated, &clip).unwrap();
    assert!(decode_audio(&clip, &DecodeOptions::default()).is_err());
    assert!(
        VideoReader::open(&clip)
            .and_then(|mut r| r.frame_at(0.5, 8, 8))
            .is_err()
    );
    std::fs::write(&clip, "not a video").unwrap();
    let err = VideoReader::open(&clip).err().unwrap().to_string();
    assert!(err.contains("clip.mp4"), "{err}");
    // A reader opened before the replacements answers, whatever it now reads.
    let _ = open.frame_at(1.0, 8, 8);
}

#[test]
fn non_utf8_paths_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let clip = non_utf8_copy(&media("cfr_25.mp4"), dir.path());
    assert_eq!(probe(&clip).unwrap().video.unwrap().frame_count, 25);
    let f = VideoReader::open(&clip)
        .unwrap()
        .frame_at(0.5, 8, 8)
        .unwrap();
    assert_eq!(frame_number(&f.data), 12);
    let out = non_utf8_copy(&media("tone.wav"), dir.path()).with_extension("mkv");
    mux_audio(
        &clip,
        &tone(48_000, 1.0, 440.0),
        &out,
        &MuxOptions::default(),
    )
    .unwrap();
    assert_eq!(probe(&out).unwrap().audio.len(), 1);
}

#[test]
fn outputs_are_atomic_and_sources_untouched() {
    let scratch = tempfile::tempdir().unwrap();
    let ro = read_only_dir(scratch.path());
    let before = listing(&ro);
    let a = tone(48_000, 0.1, 440.0);
    let err = write_wav(&ro.join("x.wav"), &a, &WavSpec::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&ro.display().to_string()), "{err}");
    assert!(
        mux_audio(
            &media("cfr_25.mp4"),
            &a,
            &ro.join("x.mp4"),
            &MuxOptions::default()
        )
        .is_err()
    );
    assert_eq!(listing(&ro), before);

    // Writing onto the source is refused and leaves it byte-identical.
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::copy(media("cfr_25.mp4"), &clip).unwrap();
    let original = std::fs::read(&clip).unwrap();
    let err = mux_audio(&clip, &a, &clip, &MuxOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("overwrite"), "{err}");
    assert_eq!(std::fs::read(&clip).unwrap(), original);

    // A failed mux (NaN audio) leaves nothing behind.
    let bad = AudioBuffer::new(48_000, 1, vec![f32::NAN; 480]);
    assert!(
        mux_audio(
            &clip,
            &bad,
            &dir.path().join("bad.mp4"),
            &MuxOptions::default()
        )
        .is_err()
    );
    assert_eq!(listing(dir.path()), vec!["clip.mp4".to_string()]);
}

#[test]
fn seeking_past_a_keyframe_gives_a_whole_picture() {
    // The bundled clip has keyframes at 0, 3.8 and 7.25 s; a seek to 4 s must decode from
    // the keyframe at 3.8 s, never from the frame the demuxer lands on.
    let clip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/cockatoo.mp4");
    let mut fresh = avsync_engine::media::VideoReader::open(&clip).unwrap();
    let sought = fresh.frame_at(4.0, 64, 36).unwrap();
    let mut sequential = avsync_engine::media::VideoReader::open(&clip).unwrap();
    let times: Vec<f64> = (0..=80).map(|k| f64::from(k) * 0.05).collect();
    let along = sequential.frames_at(&times, 64, 36).unwrap();
    let reference = along.last().unwrap();
    assert_eq!(sought.pts_s, reference.pts_s);
    let diff = sought
        .data
        .iter()
        .zip(&reference.data)
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .max()
        .unwrap();
    assert!(diff <= 2, "the sought picture differs by {diff} levels");
}

/// Resident memory of this process in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Decoding a file again and again holds no memory after each decode (demuxed packets were
/// once leaked: every decode kept the whole compressed file, about 176 KB here).
#[test]
fn repeated_decoding_returns_its_memory() {
    let wav = media("tone.wav");
    let opts = DecodeOptions::to(16_000, 1);
    for _ in 0..20 {
        decode_audio(&wav, &opts).unwrap();
    }
    let before = resident_bytes();
    for _ in 0..300 {
        decode_audio(&wav, &opts).unwrap();
        let mut reader = VideoReader::open(&media("cfr_25.mp4")).unwrap();
        reader.frame_at(0.5, 64, 48).unwrap();
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 16 << 20, "300 decodes kept {} MB", grown >> 20);
}

/// An 81-byte file whose damaged header declares 1.4 GHz audio (found by fuzzing: resampling
/// it took 13 s and 1.5 GB) is refused with the rate named.
#[test]
fn absurd_sample_rates_are_refused() {
    const DAMAGED: &[u8] = &[
        73, 68, 51, 4, 0, 0, 0, 0, 0, 35, 84, 83, 83, 69, 0, 0, 0, 15, 0, 0, 3, 76, 97, 118, 253,
        94, 175, 191, 179, 87, 143, 122, 82, 143, 34, 2, 7, 32, 248, 62, 252, 65, 187, 151, 233,
        67, 82, 89, 79, 95, 65, 80, 67, 244, 130, 28, 6, 127, 0, 0, 0, 0, 35, 84, 83, 83, 69, 0, 0,
        0, 15, 0, 154, 32, 0, 0, 58, 43, 179, 67, 63,
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.mp3");
    std::fs::write(&path, DAMAGED).unwrap();
    let err = decode_audio(&path, &DecodeOptions::to(16_000, 1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged.mp3") && err.contains("sample rate"),
        "{err}"
    );
}

/// A damaged 9 KB MOV (found by fuzzing) makes the demuxer report invalid data at the same
/// byte forever; probing, decoding, frame reading and muxing it each end, with the packets
/// that could be read or with an error naming the file.
#[test]
fn a_demuxer_stuck_on_damaged_data_is_left_behind() {
    let clip = media("stuck_demuxer.mov");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("muxed.mp4");
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let info = media::probe(&clip);
        let sound = decode_audio(&clip, &DecodeOptions::to(16_000, 1));
        let frame = VideoReader::open(&clip).and_then(|mut r| r.frame_at(0.0, 64, 48).map(drop));
        let soundtrack = tone(48_000, 1.0, 440.0);
        let muxed = mux_audio(&clip, &soundtrack, &out, &MuxOptions::default());
        for err in [info.err(), sound.err(), frame.err(), muxed.err()]
            .into_iter()
            .flatten()
        {
            assert!(err.to_string().contains("stuck_demuxer.mov"), "{err}");
        }
        done.send(()).unwrap();
    });
    // Generous: each step takes milliseconds; the guard only turns a hang into a failure.
    finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("reading the damaged MOV did not finish");
}

/// A float WAV holds any bit pattern (fuzzing made one with NaN samples): what is not a number
/// decodes as silence and absurd magnitudes are clamped, resampled or not.
#[test]
fn damaged_float_samples_decode_as_finite_audio() {
    let samples: Vec<f32> =
        [0.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -0.25].repeat(400);
    let mut wav = Vec::new();
    let data_len = 4 * samples.len() as u32;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    // 16-byte fmt chunk: IEEE float, mono, 16 kHz, 64,000 bytes/s, block 4, 32 bits.
    for field in [16u32, 0x0001_0003, 16_000, 64_000, 0x0020_0004] {
        wav.extend_from_slice(&field.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in &samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged_float.wav");
    std::fs::write(&path, wav).unwrap();
    for rate in [16_000, 48_000] {
        let audio = decode_audio(&path, &DecodeOptions::to(rate, 1)).unwrap();
        assert!(audio.frames() > 0);
        assert!(
            audio
                .samples
                .iter()
                .all(|s| s.is_finite() && s.abs() <= media::MAX_SAMPLE),
            "{rate} Hz"
        );
    }
    let native = decode_audio(&path, &DecodeOptions::to(16_000, 1)).unwrap();
    assert_eq!(
        &native.samples[..6],
        &[0.5, 0.0, 1000.0, -1000.0, 1000.0, -0.25]
    );
}
