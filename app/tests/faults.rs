//! Faults a real disk and a real user's machine produce, injected into the `avsync` binary: a
//! full disk (the file-size limit of `prlimit`, with SIGXFSZ ignored so that a write fails
//! with an error as it does on a full file system), and the process killed with SIGKILL in
//! the middle of a write or of a training run. After each: no partial file under the final
//! name, the previous file intact, a clear error, and a training run that resumes from its
//! last whole checkpoint.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use avsync_tests::*;

fn avsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_avsync"))
}

/// `avsync args` with files limited to `bytes`, the way a nearly full disk limits them.
fn with_disk_limit(bytes: u64, args: &[&std::ffi::OsStr]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" XFSZ; exec prlimit --fsize="$0" "$@""#)
        .arg(bytes.to_string())
        .arg(env!("CARGO_BIN_EXE_avsync"))
        .args(args)
        .output()
        .unwrap()
}

fn has_prlimit() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Hidden temporary files a writer left in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with(".avsync-"))
        .collect()
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_previous_file() {
    if !has_prlimit() {
        eprintln!("skipped: no prlimit on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let previous = b"the previous take".to_vec();
    let wav = dir.path().join("take.wav");
    let mkv = dir.path().join("take.mkv");
    let loud = dir.path().join("loud.wav");
    for target in [&wav, &mkv, &loud] {
        std::fs::write(target, &previous).unwrap();
    }
    let (clip, tone) = (media("with_audio.mp4"), media("tone.wav"));
    let cases: Vec<(&PathBuf, Vec<&std::ffi::OsStr>)> = vec![
        (
            &wav,
            vec![
                "tone".as_ref(),
                "--duration".as_ref(),
                "10".as_ref(),
                "--out".as_ref(),
                wav.as_os_str(),
            ],
        ),
        (
            &mkv,
            vec![
                "mux".as_ref(),
                clip.as_os_str(),
                tone.as_os_str(),
                "--out".as_ref(),
                mkv.as_os_str(),
            ],
        ),
        (
            &loud,
            vec![
                "loudness".as_ref(),
                tone.as_os_str(),
                "--normalize".as_ref(),
                "-23".as_ref(),
                "--out".as_ref(),
                loud.as_os_str(),
            ],
        ),
    ];
    for (target, args) in cases {
        let out = with_disk_limit(32 * 1024, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(&target.display().to_string()),
            "the message names the output: {stderr}"
        );
        assert_eq!(std::fs::read(target).unwrap(), previous, "{args:?}");
    }
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    // The same commands without the limit succeed.
    let out = avsync()
        .args(["tone", "--duration", "10", "--out"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::metadata(&wav).unwrap().len() > 32 * 1024);
}

/// Start `cmd`, wait until `ready` holds (polled every millisecond), then SIGKILL it.
/// Returns whether it was killed while still running.
fn kill_when(mut cmd: Command, ready: impl Fn() -> bool, limit: Duration) -> bool {
    let mut child: Child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready() {
        if child.try_wait().unwrap().is_some() || start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

#[test]
fn a_writer_killed_mid_write_leaves_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("long.wav");
    let previous = b"the previous take".to_vec();
    std::fs::write(&target, &previous).unwrap();
    let mut killed_mid_write = false;
    for _ in 0..5 {
        let mut cmd = avsync();
        cmd.args(["tone", "--duration", "600", "--out"])
            .arg(&target);
        let writing = || {
            temporaries(dir.path())
                .iter()
                .any(|n| std::fs::metadata(dir.path().join(n)).is_ok_and(|m| m.len() > 1 << 20))
        };
        killed_mid_write |= kill_when(cmd, writing, Duration::from_secs(120));
        // Whatever the moment, the final name holds a whole file: the previous one, or a
        // finished new one.
        let now = std::fs::read(&target).unwrap();
        if now != previous {
            let info = avsync_engine::media::probe(&target).unwrap();
            assert!((info.duration_s - 600.0).abs() < 0.01);
        }
        if killed_mid_write {
            break;
        }
    }
    assert!(killed_mid_write, "the writer was never caught mid-write");
    assert_eq!(std::fs::read(&target).unwrap(), previous);
}

/// A small library of tones in captioned folders.
fn tone_library(root: &Path) {
    for (folder, freq) in [("bells", 880), ("hums", 110), ("whistles", 2000)] {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..6 {
            let out = avsync()
                .args(["tone", "--rate", "16000", "--freq"])
                .arg((freq + 20 * k).to_string())
                .arg("--duration")
                .arg(format!("{}", 0.3 + 0.05 * k as f64))
                .arg("--out")
                .arg(dir.join(format!("{folder}_{k}.wav")))
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    }
    std::fs::write(root.join("LICENSE"), "licence: CC0-1.0\n").unwrap();
}

/// Run `cmd`, which must succeed; its stdout and stderr.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

fn run_state(run: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(run.join("state.json")).ok()?).ok()
}

#[test]
fn a_training_run_killed_anywhere_resumes_from_its_last_whole_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    tone_library(&lib);
    let set = dir.path().join("set");
    let model = dir.path().join("model");
    let run = dir.path().join("run");
    run_ok(avsync().arg("dataset").arg(&lib).arg("--out").arg(&set));
    run_ok(
        avsync()
            .args(["model", "init", "--preset", "tiny", "--out"])
            .arg(&model),
    );
    let train = |steps: usize| {
        let mut cmd = avsync();
        cmd.args(["train", "unet", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&set)
            .arg("--run")
            .arg(&run)
            .args(["--checkpoint-every", "1", "--batch", "2", "--device", "cpu"])
            .arg("--steps")
            .arg(steps.to_string());
        cmd
    };
    let weights = model.join("unet/diffusion_pytorch_model.safetensors");
    let before = std::fs::read(&weights).unwrap();
    let checkpointed = || run_state(&run).is_some_and(|s| s["step"].as_u64() >= Some(3));
    assert!(
        kill_when(train(100_000), checkpointed, Duration::from_secs(300)),
        "the run ended before it could be killed"
    );
    let state = run_state(&run).expect("the state names a whole checkpoint");
    let step = state["step"].as_u64().unwrap() as usize;
    let name = state["checkpoint"].as_str().unwrap();
    assert!(run.join(name).is_dir(), "{name} is complete and kept");
    assert_eq!(
        std::fs::read(&weights).unwrap(),
        before,
        "an unfinished run does not touch the model"
    );
    let log = run_ok(&mut train(step + 2));
    assert!(log.contains(&format!("from step {step}")), "{log}");
    let state = run_state(&run).unwrap();
    assert_eq!(state["step"].as_u64(), Some(step as u64 + 2));
    assert_ne!(std::fs::read(&weights).unwrap(), before);
    assert_eq!(temporaries(&run), Vec::<String>::new());
    let checkpoints = listing(&run)
        .into_iter()
        .filter(|n| n.starts_with("checkpoint-"))
        .count();
    assert_eq!(
        checkpoints, 1,
        "a checkpoint cut short by the kill is removed"
    );
}

/// A reader that closes the pipe before the command writes (`avsync probe clip | head -0`):
/// the command ends as a Unix tool does, without a panic.
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let mut child = avsync()
        .arg("probe")
        .arg(media("cfr_25.mp4"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
