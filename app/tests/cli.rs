//! The `avsync` binary as a user runs it: each subcommand on real media, and each bad input
//! answered with a message naming the file, exit status 1, no panic and no partial output.

use std::path::Path;
use std::process::{Command, Output};

use avsync_tests::*;

fn avsync(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(args)
        .output()
        .unwrap()
}

fn run_ok(args: &[&str]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let out = avsync(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run a command that must fail cleanly; returns its stderr.
fn run_err(args: &[&std::ffi::OsStr]) -> String {
    let out = avsync(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn probe_prints_json() {
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&["probe", s(&media("cfr_2997.mp4"))])).unwrap();
    assert_eq!(json["video"]["frame_count"], 30);
    assert_eq!(
        json["video"]["frame_rate"],
        serde_json::json!([30000, 1001])
    );
}

#[test]
fn frames_writes_pngs_and_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("frames");
    run_ok(&[
        "frames",
        s(&media("cfr_25.mp4")),
        "--n",
        "5",
        "--size",
        "32",
        "--out",
        s(&out),
    ]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("frames.json")).unwrap()).unwrap();
    let frames = index["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 5);
    assert_eq!(frames[2]["pts_s"], 0.4);
    assert_eq!(listing(&out).len(), 6);
    let png = std::fs::read(out.join("frame_0004.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn tone_then_mux_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("pops.wav");
    run_ok(&[
        "tone",
        "--out",
        s(&wav),
        "--duration",
        "1",
        "--pops-fps",
        "25",
    ]);
    let out = dir.path().join("muxed.mp4");
    let report: serde_json::Value = serde_json::from_str(&run_ok(&[
        "mux",
        s(&media("cfr_25.mp4")),
        s(&wav),
        "--out",
        s(&out),
        "--offset-frames",
        "-1",
    ]))
    .unwrap();
    assert_eq!(report["offset_samples"], -1920);
    let probe: serde_json::Value = serde_json::from_str(&run_ok(&["probe", s(&out)])).unwrap();
    assert_eq!(probe["audio"][0]["codec"], "aac");
    assert_eq!(probe["video"]["frame_count"], 25);
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.mp4");
    let err = run_err(&["probe".as_ref(), missing.as_os_str()]);
    assert!(err.contains("nope.mp4"), "{err}");

    let empty = empty_file(dir.path(), "zero.mp4");
    assert!(run_err(&["probe".as_ref(), empty.as_os_str()]).contains("zero.mp4"));

    let truncated = truncated_copy(&media("with_audio.mp4"), dir.path());
    let out = dir.path().join("frames");
    let err = run_err(&[
        "frames".as_ref(),
        truncated.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(err.contains("truncated-with_audio.mp4"), "{err}");

    // Audio-only input where a video is expected.
    let err = run_err(&[
        "frames".as_ref(),
        media("tone.mp3").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        err.contains("tone.mp3") && err.contains("no video"),
        "{err}"
    );

    // A clip without audio given as the soundtrack.
    let mux_out = dir.path().join("x.mp4");
    let err = run_err(&[
        "mux".as_ref(),
        media("cfr_25.mp4").as_os_str(),
        media("cfr_60.mp4").as_os_str(),
        "--out".as_ref(),
        mux_out.as_os_str(),
    ]);
    assert!(
        err.contains("cfr_60.mp4") && err.contains("no audio"),
        "{err}"
    );

    // Range outside the clip, zero frames.
    let clip = media("cfr_25.mp4");
    for extra in [["--start", "5"], ["--n", "0"]] {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "frames".as_ref(),
            clip.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        run_err(&args);
    }
    assert!(!mux_out.exists());
}

#[test]
fn unwritable_output_leaves_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let ro = read_only_dir(scratch.path());
    let before = listing(&ro);
    let target = ro.join("tone.wav");
    let err = run_err(&[
        "tone".as_ref(),
        "--out".as_ref(),
        target.as_os_str(),
        "--duration".as_ref(),
        "0.1".as_ref(),
    ]);
    assert!(err.contains(&ro.display().to_string()), "{err}");
    let mux_out = ro.join("out.mkv");
    run_err(&[
        "mux".as_ref(),
        media("cfr_25.mp4").as_os_str(),
        media("tone.wav").as_os_str(),
        "--out".as_ref(),
        mux_out.as_os_str(),
    ]);
    assert_eq!(listing(&ro), before);
}

#[test]
fn non_utf8_paths_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let clip = non_utf8_copy(&media("cfr_25.mp4"), dir.path());
    let out = avsync(&["probe".as_ref(), clip.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mel_png_and_loudness_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("mel.png");
    run_ok(&[
        "mel",
        s(&media("tone.ogg")),
        "--png",
        s(&png),
        "--width",
        "400",
        "--height",
        "200",
    ]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 400);

    let m: serde_json::Value =
        serde_json::from_str(&run_ok(&["loudness", s(&media("tone.flac"))])).unwrap();
    // A 1 kHz mono sine of amplitude 1/8: 20 log10(1/8) - 3.01 = -21.07 LUFS.
    assert!(
        (m["integrated_lufs"].as_f64().unwrap() + 21.07).abs() < 0.1,
        "{m}"
    );
    let out = dir.path().join("norm.wav");
    let r: serde_json::Value = serde_json::from_str(&run_ok(&[
        "loudness",
        s(&media("tone.flac")),
        "--normalize",
        "-23",
        "--out",
        s(&out),
    ]))
    .unwrap();
    assert!(
        (r["after"]["integrated_lufs"].as_f64().unwrap() + 23.0).abs() < 0.05,
        "{r}"
    );
    let again: serde_json::Value = serde_json::from_str(&run_ok(&["loudness", s(&out)])).unwrap();
    assert!(
        (again["integrated_lufs"].as_f64().unwrap() + 23.0).abs() < 0.05,
        "{again}"
    );

    // Normalising onto the input is refused.
    let copy = dir.path().join("copy.flac");
    std::fs::copy(media("tone.flac"), &copy).unwrap();
    let err = run_err(&[
        "loudness".as_ref(),
        copy.as_os_str(),
        "--normalize".as_ref(),
        "-23".as_ref(),
        "--out".as_ref(),
        copy.as_os_str(),
    ]);
    assert!(err.contains("overwrite"), "{err}");
}

/// `generate` flags for a quick run of a tiny random model on the CPU.
const QUICK: [&str; 12] = [
    "--steps",
    "2",
    "--search-steps",
    "1",
    "--gmds-iters",
    "1",
    "--keep",
    "2",
    "--device",
    "cpu",
    "--text",
    "a door slams",
];

#[test]
fn generate_writes_candidates_a_muxed_video_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    run_ok(&["model", "init", "--preset", "tiny", "--out", s(&model)]);
    let out = dir.path().join("out");
    let clip = media("cfr_25.mp4");
    let mut args = vec![
        "generate",
        "--video",
        s(&clip),
        "--model",
        s(&model),
        "--out",
        s(&out),
        "--candidates",
        "2",
    ];
    args.extend(QUICK);
    let summary: serde_json::Value = serde_json::from_str(&run_ok(&args)).unwrap();
    assert_eq!(summary["wavs"].as_array().unwrap().len(), 2);

    let wav = out.join("cfr_25_candidate1.wav");
    let probe: serde_json::Value = serde_json::from_str(&run_ok(&["probe", s(&wav)])).unwrap();
    assert_eq!(probe["audio"][0]["sample_rate"], 48_000);
    assert_eq!(probe["audio"][0]["codec"], "pcm_s24le");
    assert!((probe["duration_s"].as_f64().unwrap() - 1.0).abs() < 0.01);

    let video = out.join("cfr_25_avsync.mp4");
    let probe: serde_json::Value = serde_json::from_str(&run_ok(&["probe", s(&video)])).unwrap();
    assert_eq!(probe["video"]["frame_count"], 25);
    assert_eq!(probe["audio"].as_array().unwrap().len(), 1);

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("cfr_25_report.json")).unwrap()).unwrap();
    assert_eq!(report["report"]["search"].as_array().unwrap().len(), 6);
    assert_eq!(report["report"]["candidates"].as_array().unwrap().len(), 2);
    assert!(report["report"]["candidates"][0]["lineage"]["kind"].is_string());
    assert_eq!(report["report"]["request"]["text"], "a door slams");
}

#[test]
fn generate_rejects_bad_requests_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    run_ok(&["model", "init", "--preset", "tiny", "--out", s(&model)]);
    let out = dir.path().join("out");
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"not audio at all").unwrap();
    let clip = media("cfr_25.mp4");
    let missing = dir.path().join("missing.mp4");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--video", s(&missing)], "missing.mp4"),
        (
            vec!["--video", s(&clip), "--start", "5", "--end", "6"],
            "outside the clip",
        ),
        (vec!["--video", s(&clip), "--candidates", "0"], "population"),
        (vec!["--video", s(&clip), "--beta-s", "1.5"], "beta_s"),
        (
            vec!["--video", s(&clip), "--ref-audio", s(&broken)],
            "broken.wav",
        ),
        (
            vec!["--video", s(&clip), "--model", s(&missing)],
            "missing.mp4",
        ),
    ];
    for (extra, expected) in cases {
        let mut args: Vec<&std::ffi::OsStr> = vec!["generate".as_ref()];
        let has_model = extra.contains(&"--model");
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        if !has_model {
            args.extend(["--model".as_ref(), model.as_os_str()]);
        }
        args.extend(["--out".as_ref(), out.as_os_str()]);
        args.extend(QUICK.iter().map(std::ffi::OsStr::new));
        let stderr = run_err(&args);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(
            listing(&out)
                .iter()
                .all(|f| !f.ends_with(".wav") && !f.ends_with(".mp4")),
            "no output for a failed request"
        );
    }
}

#[test]
fn batch_runs_a_folder_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    run_ok(&["model", "init", "--preset", "tiny", "--out", s(&model)]);
    let clips = dir.path().join("clips");
    std::fs::create_dir(&clips).unwrap();
    for name in ["cfr_25.mp4", "cfr_2997.mp4"] {
        std::fs::copy(media(name), clips.join(name)).unwrap();
    }
    std::fs::write(clips.join("notes.txt"), "not a clip").unwrap();
    let out = dir.path().join("out");
    let mut args = vec!["batch", s(&clips), "--model", s(&model), "--out", s(&out)];
    args.extend(QUICK);
    run_ok(&args);
    let report = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join("batch_report.json")).unwrap()).unwrap()
    };
    let first = report(&out);
    assert_eq!(first.as_array().unwrap().len(), 2);
    assert!(
        first
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "done")
    );
    assert!(out.join("0001_cfr_25/cfr_25_candidate1.wav").is_file());
    assert!(out.join("0002_cfr_2997/cfr_2997_avsync.mp4").is_file());
    // Run again: both clips are already done.
    run_ok(&args);
    let again = report(&out);
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"].as_str().unwrap().starts_with("skipped"))
    );
}

#[test]
fn library_index_then_search() {
    let dir = tempfile::tempdir().unwrap();
    let sfx = dir.path().join("sfx");
    sound_library(&sfx);
    let index = dir.path().join("library.avslib");
    let out = run_ok(&["library", "index", s(&sfx), "--index", s(&index)]);
    assert!(out.contains("5 sounds found, 4 new"), "{out}");
    let again = run_ok(&["library", "index", s(&sfx), "--index", s(&index)]);
    assert!(
        again.contains("0 new, 0 changed, 0 removed, 1 skipped"),
        "{again}"
    );
    let found = run_ok(&[
        "library",
        "search",
        "door slam",
        "--index",
        s(&index),
        "--json",
        "-n",
        "2",
    ]);
    let v: serde_json::Value = serde_json::from_str(&found).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[0]["path"].as_str().unwrap().ends_with("door_slam.wav"),
        "{found}"
    );
    let like = run_ok(&[
        "library",
        "search",
        "--like",
        s(&sfx.join("weather/rain_loop.wav")),
        "--index",
        s(&index),
        "-n",
        "1",
    ]);
    assert!(like.contains("rain_loop.wav"), "{like}");
    let missing = dir.path().join("none.avslib");
    let err = run_err(&[
        "library".as_ref(),
        "search".as_ref(),
        "x".as_ref(),
        "--index".as_ref(),
        missing.as_os_str(),
    ]);
    assert!(
        err.contains("none.avslib") && err.contains("library index"),
        "{err}"
    );
}

#[test]
fn loop_makes_a_seamless_bed_of_the_asked_length() {
    let dir = tempfile::tempdir().unwrap();
    let sounds = sound_library(&dir.path().join("sfx"));
    let out = dir.path().join("rain_bed.wav");
    let report = run_ok(&[
        "loop",
        s(&sounds[1]),
        "--seconds",
        "2.5",
        "--crossfade",
        "0.25",
        "--out",
        s(&out),
    ]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["seam_inaudible"], true, "{report}");
    assert_eq!(v["seconds"], 2.5);
    let probed = avsync_engine::media::probe(&out).unwrap();
    assert!((probed.duration_s - 2.5).abs() < 1e-3);
    let err = run_err(&[
        "loop".as_ref(),
        sounds[1].as_os_str(),
        "--seconds".as_ref(),
        "0".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(err.contains("--seconds"), "{err}");
}
