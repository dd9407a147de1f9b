//! The editor's background threads (picture decoding, thumbnails, motion analysis, model
//! loading, generation, autosave) under a bounded loop of what an impatient user does: open a
//! clip, scrub, generate, cancel or let it finish, save, close, again. No deadlock (every wait
//! is bounded), no panic, and memory back to where it was after the first round. Its own test
//! binary, so that the process's memory is this test's alone.

use std::path::Path;
use std::time::{Duration, Instant};

use avsync_app::gui::audition::Audition;
use avsync_app::gui::studio::Studio;
use avsync_app::gui::view::StudioApp;
use avsync_engine::device::ComputePreference;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_tests::media;
use egui_kittest::Harness;

/// Resident memory of this process in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Step `harness` until `done` holds; false if `limit` passed first.
fn step_until(
    harness: &mut Harness<'_, StudioApp>,
    limit: Duration,
    done: impl Fn(&StudioApp) -> bool,
) -> bool {
    let start = Instant::now();
    while !done(harness.state()) {
        if start.elapsed() > limit {
            return false;
        }
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

fn round(model: &Path, dir: &Path, clip: &Path, k: usize) {
    let mut studio = Studio::new();
    studio.model_dir = model.to_path_buf();
    studio.compute = ComputePreference::Cpu;
    studio.export_dir = Some(dir.to_path_buf());
    studio.autosave_every = Some(Duration::ZERO);
    studio.request.sampler.steps = 2;
    studio.request.search_steps = Some(1);
    studio.request.gmds = GmdsSettings {
        population: 2,
        iterations: 1,
        ..GmdsSettings::default()
    };
    studio.request.keep = 1;
    studio.request.text = "a door slams".into();
    let mut app = StudioApp::new(studio, Audition::silent());
    app.open(clip.to_path_buf());
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut StudioApp| app.show(ui), app);
    harness.step();
    harness
        .state_mut()
        .studio
        .save_project(Some(dir.join(format!("round{k}.avsync"))));
    // Scrub while the thumbnails and the motion analysis are still arriving.
    for i in 0..20 {
        let duration = harness.state().studio.clip.as_ref().unwrap().duration;
        harness.state_mut().studio.playhead = duration * ((i * 7) % 20) as f64 / 20.0;
        harness.step();
    }
    harness.state_mut().studio.generate();
    harness.step();
    assert!(
        harness.state().studio.busy(),
        "{:?}",
        harness.state().studio.log
    );
    if k % 2 == 0 {
        // Cancel as soon as it runs, sometimes while the model is still loading.
        for _ in 0..k {
            harness.step();
        }
        harness.state_mut().studio.cancel();
    }
    assert!(
        step_until(&mut harness, Duration::from_secs(120), |a| !a.studio.busy()),
        "round {k}: the job neither finished nor stopped: {:?}",
        harness.state().studio.log
    );
    if k % 2 == 1 {
        assert_eq!(
            harness.state().studio.candidates.len(),
            1,
            "{:?}",
            harness.state().studio.log
        );
    }
    // Scrub again and close with the decoder threads still busy.
    harness.state_mut().studio.playhead = 0.5;
    harness.step();
    drop(harness);
}

#[test]
fn open_scrub_generate_cancel_close_repeatedly() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    init_model_dir(Preset::Tiny, "tiny", &model, &burn::tensor::Device::flex()).unwrap();
    let clips = [
        media("cfr_25.mp4"),
        media("with_audio.mp4"),
        media("vfr.mkv"),
    ];
    // Closed rounds leave detached threads winding down, so one sample swings by
    // a hundred megabytes; a leak raises the floor, which the fewest of several
    // rounds measures.
    let floor = |rounds: std::ops::Range<usize>| {
        rounds
            .map(|k| {
                round(&model, dir.path(), &clips[k % clips.len()], k);
                resident()
            })
            .min()
            .unwrap_or(0)
    };
    let baseline = floor(1..5);
    let after = floor(5..15);
    assert!(
        after <= baseline + baseline / 4 + (64 << 20),
        "the memory floor grew from {} MB to {} MB over ten rounds",
        baseline >> 20,
        after >> 20
    );
}
