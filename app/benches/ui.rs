//! Interface frame time (layout, input and state, without the GPU's drawing), measured by
//! driving the real editor headless: scrubbing through a clip (a new frame every step, the
//! decoder on its own thread) and idling while a generation runs on the worker thread.
//!
//! `cargo bench -p avsync-app --bench ui -- [--video PATH]` (default: the bundled 720p clip;
//! `ffmpeg -i assets/cockatoo.mp4 -vf scale=1920:1080 clip1080.mp4` makes a 1080p one).
//! Prints the median and the 99th percentile per step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use avsync_app::gui::audition::Audition;
use avsync_app::gui::studio::Studio;
use avsync_app::gui::view::StudioApp;
use avsync_engine::device::ComputePreference;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use egui_kittest::Harness;

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "{name}: {} steps, median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let video = args
        .iter()
        .position(|a| a == "--video")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../assets/cockatoo.mp4"
                ))
            },
            PathBuf::from,
        );
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model");
    init_model_dir(Preset::Tiny, "tiny", &model, &burn::tensor::Device::flex()).expect("model");
    let mut studio = Studio::new();
    studio.model_dir = model;
    studio.compute = ComputePreference::Cpu;
    studio.request.gmds = GmdsSettings {
        population: 4,
        iterations: 1,
        ..GmdsSettings::default()
    };
    let mut app = StudioApp::new(studio, Audition::silent());
    app.open(video);
    let duration = app.studio.clip.as_ref().expect("clip").duration;
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut StudioApp| app.show(ui), app);
    harness.step();

    // Scrubbing: the playhead moves a frame's worth every step.
    let mut times = Vec::new();
    for k in 0..600 {
        harness.state_mut().studio.playhead = (k as f64 * 0.05) % duration;
        let t = Instant::now();
        harness.step();
        times.push(t.elapsed());
    }
    stats("scrubbing", times);

    // While a generation runs on the worker thread.
    harness.state_mut().studio.generate();
    let mut times = Vec::new();
    while harness.state().studio.busy() && times.len() < 5000 {
        let t = Instant::now();
        harness.step();
        times.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    stats("during generation", times);
}
