//! Shared helpers for the end-to-end tests: fixture media, damaged copies of it, and reading
//! back the frame number that every fixture video encodes in its brightness.

use std::path::{Path, PathBuf};

/// Path of a committed media fixture in `tests/media/`.
pub fn media(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("media")
        .join(name)
}

/// The frame number a fixture frame shows: fixtures have luma `16 + 4 * (n mod 50)`.
/// Reads the mean of the green channel, which tracks luma for grey pictures.
pub fn frame_number(rgb: &[u8]) -> usize {
    let mean = rgb
        .iter()
        .skip(1)
        .step_by(3)
        .map(|&g| f64::from(g))
        .sum::<f64>()
        / (rgb.len() / 3) as f64;
    // Limited-range luma 16..235 maps to full-range RGB 0..255.
    let luma = mean * 219.0 / 255.0 + 16.0;
    ((luma - 16.0) / 4.0).round().max(0.0) as usize
}

/// A copy of `src` under a file name that is not valid UTF-8.
#[cfg(unix)]
pub fn non_utf8_copy(src: &Path, dir: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let ext = src.extension().unwrap().as_bytes();
    let mut name = b"clip-\xff\xfe.".to_vec();
    name.extend_from_slice(ext);
    let dst = dir.join(std::ffi::OsStr::from_bytes(&name));
    std::fs::copy(src, &dst).unwrap();
    dst
}

/// A copy of the first half of `src`.
pub fn truncated_copy(src: &Path, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let dst = dir.join(format!(
        "truncated-{}",
        src.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&dst, &bytes[..bytes.len() / 2]).unwrap();
    dst
}

/// An empty file with the given name.
pub fn empty_file(dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    std::fs::write(&dst, b"").unwrap();
    dst
}

/// A directory nothing can be written into. Permission bits do not stop root, so when the
/// tests run as root the answer is a directory of the kernel's read-only `/proc`.
pub fn read_only_dir(scratch: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch.join("read-only");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        return PathBuf::from("/proc/self");
    }
    dir
}

/// Names of the files in `dir` (to check that no partial output was left).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Dominant frequency of a mono signal, from its zero crossings.
pub fn zero_crossing_hz(x: &[f32], sample_rate: u32) -> f64 {
    let crossings = x
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    crossings as f64 / 2.0 / (x.len() as f64 / f64::from(sample_rate))
}

/// A small sound library under `dir`, written from formulas: a door slam (a decaying noise
/// burst), rain (steady noise), a bird (chirps), footsteps on gravel (crunches) in nested
/// folders, a file with an audio name that is not audio, and a text file. Returns the four
/// sounds' paths in that order.
pub fn sound_library(dir: &Path) -> Vec<PathBuf> {
    use avsync_engine::AudioBuffer;
    use avsync_engine::media::{WavSpec, write_wav};
    let rate = 16_000u32;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let n = rate as usize;
    let t = |i: usize| i as f32 / rate as f32;
    let door: Vec<f32> = (0..n)
        .map(|i| 0.9 * noise() * (-t(i) * 12.0).exp())
        .collect();
    let rain: Vec<f32> = (0..n).map(|_| 0.2 * noise()).collect();
    let bird: Vec<f32> = (0..n)
        .map(|i| {
            let phase = t(i) % 0.25;
            let f = 2500.0 + 6000.0 * phase;
            0.5 * (std::f32::consts::TAU * f * phase).sin() * (phase < 0.12) as u8 as f32
        })
        .collect();
    let gravel: Vec<f32> = (0..n)
        .map(|i| {
            let step = t(i) % 0.5;
            0.7 * noise() * (-step * 40.0).exp()
        })
        .collect();
    let sounds = [
        ("door_slam.wav", door),
        ("weather/rain_loop.wav", rain),
        ("animals/bird_chirp.wav", bird),
        ("Foley/Footsteps/gravelWalk_03.wav", gravel),
    ];
    let mut paths = Vec::new();
    for (name, samples) in sounds {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        write_wav(
            &path,
            &AudioBuffer::new(rate, 1, samples),
            &WavSpec::default(),
        )
        .unwrap();
        paths.push(path);
    }
    std::fs::write(dir.join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a sound").unwrap();
    paths
}
