//! The editor driven as a user drives it, with no display: open a clip, generate with a tiny
//! random model, see the candidates appear, nudge one, export it and probe the files.

use std::path::Path;
use std::sync::Arc;

use avsync_app::gui::audition::Audition;
use avsync_app::gui::library::Library;
use avsync_app::gui::recorder::Input;
use avsync_app::gui::studio::Studio;
use avsync_app::gui::view::StudioApp;
use avsync_engine::AudioBuffer;
use avsync_engine::device::ComputePreference;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::media::{WavSpec, probe, write_wav};
use avsync_engine::pipeline::model::default_model_dir;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_tests::{media, sound_library};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn app(model: &Path, export: &Path) -> StudioApp {
    let mut studio = Studio::new();
    studio.model_dir = model.to_path_buf();
    studio.compute = ComputePreference::Cpu;
    studio.export_dir = Some(export.to_path_buf());
    studio.request.sampler.steps = 2;
    studio.request.search_steps = Some(1);
    studio.request.gmds = GmdsSettings {
        population: 2,
        iterations: 1,
        ..GmdsSettings::default()
    };
    studio.request.keep = 2;
    StudioApp::new(studio, Audition::silent())
}

/// The editor in a 1280x900 window, its first frame drawn.
fn window(app: StudioApp) -> Harness<'static, StudioApp> {
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut StudioApp| app.show(ui), app);
    harness.step();
    harness
}

#[test]
fn open_generate_nudge_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    init_model_dir(Preset::Tiny, "tiny", &model, &burn::tensor::Device::flex()).unwrap();
    let mut app = app(&model, dir.path());
    app.open(media("cfr_25.mp4"));
    app.studio.request.text = "a door slams".into();
    let mut harness = window(app);

    // The thumbnail strip arrives from its background thread.
    for _ in 0..500 {
        harness.step();
        if harness.state().thumbnail_count() > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(harness.state().thumbnail_count(), 24);

    // A reference sound shows its waveform.
    harness.state_mut().studio.reference_path = media("tone.wav").display().to_string();
    for _ in 0..500 {
        harness.step();
        if harness.state().has_reference_waveform() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(harness.state().has_reference_waveform());
    assert!(harness.state().has_reference_spectrogram());
    harness.state_mut().studio.reference_path.clear();
    harness.step();

    // Frame stepping from the keyboard.
    harness.key_press(eframe::egui::Key::ArrowRight);
    harness.step();
    let rate = harness.state().studio.clip.as_ref().unwrap().rate;
    assert_eq!(rate.frame_at(harness.state().studio.playhead), 1);

    harness.get_by_label("Generate").click();
    harness.step();
    assert!(
        harness.state().studio.busy(),
        "{:?}",
        harness.state().studio.log
    );
    for _ in 0..3000 {
        harness.step();
        if !harness.state().studio.busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let studio = &harness.state().studio;
    assert!(!studio.busy(), "generation finished");
    assert_eq!(studio.candidates.len(), 2, "{:?}", studio.log);
    harness.step();

    harness.get_by_label("Zoom in").click();
    harness.step();
    harness.get_by_label("Zoom in").click();
    harness.step();
    assert_eq!(harness.state().zoom, 4.0);

    harness.get_by_label("nudge 1 later").click();
    harness.step();
    assert_eq!(harness.state().studio.candidates[0].edits.nudge_frames, 1);

    harness.get_by_label("export 1").click();
    harness.step();
    let wav = dir.path().join("cfr_25_avsync_1.wav");
    let mp4 = dir.path().join("cfr_25_avsync_1.mp4");
    assert!(wav.is_file(), "{:?}", harness.state().studio.log);
    let info = probe(&wav).unwrap();
    assert_eq!(info.audio[0].sample_rate, 48_000);
    let info = probe(&mp4).unwrap();
    assert_eq!(info.audio.len(), 1);
    assert!(info.video.is_some());
    // The same candidate into a MOV (24-bit PCM).
    harness.state_mut().studio.export_container = Some("mov".into());
    harness.get_by_label("export 1").click();
    harness.step();
    let mov = probe(&dir.path().join("cfr_25_avsync_1.mov")).unwrap();
    assert_eq!(mov.audio[0].codec, "pcm_s24le");

    // All kept candidates as stems: discard the second, export the rest.
    harness.get_by_label("keep 2").click();
    harness.step();
    harness.get_by_label("Export kept stems").click();
    harness.step();
    assert!(!harness.state().studio.candidates[1].edits.keep);
    assert!(wav.is_file() && !dir.path().join("cfr_25_avsync_2.wav").exists());

    // A/B: select the second candidate, then the key switches back to the first.
    harness.get_by_label("#2 seed 0 rank 2").click();
    harness.step();
    assert_eq!(harness.state().studio.selected, Some(1));
    harness.key_press(eframe::egui::Key::B);
    harness.step();
    assert_eq!(harness.state().studio.selected, Some(0));

    // Play follows the audio clock (wall clock here: no sound device), and stops with K.
    harness.key_press(eframe::egui::Key::Space);
    harness.step();
    assert!(harness.state().audition.is_playing());
    assert_eq!(harness.state().audition.candidate(), Some(0));
    harness.key_press(eframe::egui::Key::K);
    harness.step();
    assert!(!harness.state().audition.is_playing());

    // Beds: a 3 s loop and the candidate continued 3 s past its end, each a new candidate;
    // the source stays as generated.
    let generated = harness.state().studio.candidates[0].rendered.audio.clone();
    harness.state_mut().bed_seconds = 3.0;
    harness.get_by_label("loop 1").click();
    harness.step();
    harness.get_by_label("extend 1").click();
    harness.step();
    let studio = &harness.state().studio;
    assert_eq!(studio.candidates.len(), 4, "{:?}", studio.log);
    assert_eq!(studio.candidates[0].rendered.audio, generated);
    let looped = &studio.candidates[2].rendered.audio;
    assert_eq!(looped.len(), 48_000);
    // The seam is measured and logged (its quality on real material is the engine's test:
    // this tiny model's output is random).
    let made = &studio.log[studio.log.len() - 2];
    assert!(
        made.contains("loop 3.0 s") && made.contains("seam"),
        "{made}"
    );
    assert_eq!(
        studio.candidates[3].rendered.audio.len(),
        generated.len() + 48_000
    );
    assert_eq!(studio.selected, Some(3));
    harness.state_mut().studio.selected = Some(0);
    harness.step();

    // The project round trip restores candidates, edits and audio.
    let project = dir.path().join("session.avsync");
    harness
        .state_mut()
        .studio
        .save_project(Some(project.clone()));
    let before = &harness.state().studio;
    let mut restored = Studio::new();
    restored.load_project(&project);
    assert_eq!(
        restored.candidates.len(),
        before.candidates.len(),
        "{:?}",
        restored.log
    );
    assert_eq!(restored.candidates[0].edits.nudge_frames, 1);
    assert_eq!(
        restored.candidates[0].rendered.audio,
        before.candidates[0].rendered.audio
    );
    assert_eq!(restored.request.text, "a door slams");
    assert_eq!(restored.clip.as_ref().unwrap().path, media("cfr_25.mp4"));
}

#[test]
fn moved_clips_are_reported_and_relocated() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("scene.mp4");
    std::fs::copy(media("cfr_25.mp4"), &clip).unwrap();
    let mut studio = Studio::new();
    studio.recent_file = Some(dir.path().join("config/recent.json"));
    studio.open(&clip);
    studio.range = (0.2, 0.8);
    let mut other = Studio::new();
    other.recent_file = studio.recent_file.clone();
    other.load_recent();
    assert_eq!(
        other.recent, studio.recent,
        "the recent list is kept on disk"
    );
    let project = dir.path().join("scene.avsync");
    studio.save_project(Some(project.clone()));
    let moved = dir.path().join("moved.mp4");
    std::fs::rename(&clip, &moved).unwrap();

    let mut reopened = Studio::new();
    reopened.load_project(&project);
    assert!(reopened.clip.is_none());
    assert_eq!(reopened.missing_clip.as_deref(), Some(clip.as_path()));
    assert!(reopened.last_message().unwrap().contains("relocate"));
    reopened.relocate(&moved);
    assert_eq!(
        reopened.recent.first(),
        Some(&std::fs::canonicalize(&moved).unwrap())
    );
    assert!(reopened.clip.is_some() && reopened.missing_clip.is_none());
    assert_eq!(reopened.range, (0.2, 0.8));
    std::fs::write(&project, "{ not json").unwrap();
    reopened.load_project(&project);
    assert!(
        reopened
            .last_message()
            .unwrap()
            .contains("not a project file")
    );
}

#[test]
fn markers_tapped_imitated_spotted_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.open(media("cfr_25.mp4"));
    let mut harness = window(app);

    // Taps: M at frames 2 and 10, twice on frame 10 (one event), then the button.
    for frame in [2, 10, 10] {
        harness.state_mut().studio.playhead = frame as f64 / 25.0 + 0.01;
        harness.key_press(eframe::egui::Key::M);
        harness.step();
    }
    assert_eq!(harness.state().studio.markers.times(), &[0.08, 0.4]);
    harness.state_mut().studio.playhead = 0.81;
    harness.get_by_label("Tap marker").click();
    harness.step();
    assert_eq!(harness.state().studio.markers.times(), &[0.08, 0.4, 0.8]);
    harness.get_by_label("Clear markers").click();
    harness.step();
    assert!(harness.state().studio.markers.is_empty());

    // A vocal imitation: three clicks become three markers, on their frames.
    let clicks = dir.path().join("imitation.wav");
    let mut samples = vec![0f32; 16_000];
    for at in [0.2, 0.52, 0.84] {
        let i = (at * 16_000.0) as usize;
        for (k, s) in samples[i..i + 160].iter_mut().enumerate() {
            *s = 0.8 * (k as f32 * 0.9).sin() * (1.0 - k as f32 / 160.0);
        }
    }
    write_wav(
        &clicks,
        &AudioBuffer::new(16_000, 1, samples),
        &WavSpec::default(),
    )
    .unwrap();
    harness.state_mut().imitation_path = clicks.display().to_string();
    harness.get_by_label("Markers from imitation").click();
    harness.step();
    let times = harness.state().studio.markers.times().to_vec();
    assert_eq!(times.len(), 3, "{times:?} {:?}", harness.state().studio.log);
    for (t, want) in times.iter().zip([0.2, 0.52, 0.84]) {
        assert!((t - want).abs() <= 0.041, "{times:?}");
    }

    // Spot: the reference sound at each marker, as a candidate; no model needed.
    harness.get_by_label("Spot reference").click();
    harness.step();
    assert!(harness.state().studio.candidates.is_empty());
    assert!(
        harness
            .state()
            .studio
            .last_message()
            .unwrap()
            .contains("reference")
    );
    harness.state_mut().studio.reference_path = clicks.display().to_string();
    harness.get_by_label("Spot reference").click();
    harness.step();
    let studio = &harness.state().studio;
    assert_eq!(studio.candidates.len(), 1, "{:?}", studio.log);
    let audio = &studio.candidates[0].rendered.audio;
    let loud_at = |t: f64| {
        let i = (t * 16_000.0) as usize;
        audio[i..i + 400].iter().fold(0f32, |m, v| m.max(v.abs()))
    };
    for t in &times {
        assert!(loud_at(*t) > 0.1, "a copy starts at each marker");
    }
    assert!(loud_at(0.1) < 1e-3, "nothing before the first marker");

    // Markers are saved with the project and drive the next generation's timing.
    let project = dir.path().join("scene.avsync");
    harness
        .state_mut()
        .studio
        .save_project(Some(project.clone()));
    let mut reopened = Studio::new();
    reopened.load_project(&project);
    assert_eq!(reopened.markers.times(), times.as_slice());
    assert_eq!(reopened.candidates.len(), 1);
}

#[test]
fn markers_from_the_picture_land_on_its_events() {
    use avsync_engine::media::{RgbFrame, write_video};
    let dir = tempfile::tempdir().unwrap();
    // A bright square glides right over a textured background and stops dead at frame 12.
    let (w, h) = (128usize, 72usize);
    let frames: Vec<RgbFrame> = (0..30)
        .map(|k| {
            let ox = 30.0 + 4.0 * k.min(12) as f64;
            let mut data = Vec::with_capacity(w * h * 3);
            for y in 0..h {
                for x in 0..w {
                    let (xf, yf) = (x as f64, y as f64);
                    let mut v = 100.0 + 60.0 * (xf * 0.21).sin() * (yf * 0.17).cos();
                    if (xf - ox).abs() < 8.0 && (yf - 36.0).abs() < 8.0 {
                        v = 250.0;
                    }
                    data.extend([v as u8; 3]);
                }
            }
            RgbFrame {
                width: w as u32,
                height: h as u32,
                pts_s: k as f64 / 25.0,
                data,
            }
        })
        .collect();
    let clip = dir.path().join("stop.mkv");
    write_video(&clip, &frames, 25).unwrap();
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.open(clip);
    let mut harness = window(app);
    let start = std::time::Instant::now();
    while !harness.state().motion_ready() && start.elapsed().as_secs() < 60 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(harness.state().motion_ready());
    harness.get_by_label("Markers from picture").click();
    harness.step();
    // The stop is marked within two frames. (Over this fine texture the glide's velocity
    // estimate wavers once, which the picker may also mark; no more than that.)
    let times = harness.state().studio.markers.times().to_vec();
    let stop = times
        .iter()
        .copied()
        .find(|t| (t - 12.0 / 25.0).abs() <= 2.0 / 25.0);
    assert!(stop.is_some() && times.len() <= 2, "{times:?}");
    // On that frame the viewer shows where the event came from; nothing breaks.
    harness.state_mut().studio.playhead = stop.unwrap_or_default();
    harness.step();
    assert!(
        harness
            .state()
            .studio
            .last_message()
            .unwrap()
            .contains("from the picture")
    );
}

#[test]
fn an_imitation_recorded_while_the_range_plays_becomes_markers() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.open(media("cfr_25.mp4"));
    app.studio.range = (0.2, 1.0);
    // The performer's take: stereo at 48 kHz, three "ts" from the start of recording.
    let rate = 48_000;
    let mut take = vec![0f32; 2 * rate];
    for at in [0.1, 0.4, 0.64] {
        let i = (at * rate as f64) as usize;
        for k in 0..480 {
            let s = 0.6 * (k as f32 * 0.7).sin() * (1.0 - k as f32 / 480.0);
            take[2 * (i + k)] = s;
            take[2 * (i + k) + 1] = s;
        }
    }
    app.input = Input::Take(Arc::new(take), 2, rate as u32);
    let mut harness = window(app);

    harness.get_by_label("Record imitation").click();
    harness.step();
    assert!(harness.state().audition.is_playing(), "the picture plays");
    assert_eq!(harness.state().studio.playhead, 0.2, "from the in point");
    std::thread::sleep(std::time::Duration::from_millis(100));
    harness.step();
    // Stopped by hand (unless a slow machine already reached the out point).
    if let Some(stop) = harness.query_by_label("Stop recording") {
        stop.click();
        harness.step();
    }

    let state = harness.state();
    assert!(!state.audition.is_playing());
    let times = state.studio.markers.times().to_vec();
    assert_eq!(times.len(), 3, "{times:?} {:?}", state.studio.log);
    for (t, want) in times.iter().zip([0.3, 0.6, 0.84]) {
        assert!((t - want).abs() <= 0.041, "{times:?}");
    }
    let kept = dir.path().join("cfr_25_imitation_1.wav");
    assert_eq!(state.imitation_path, kept.display().to_string());
    let info = probe(&kept).unwrap();
    assert_eq!(info.audio[0].sample_rate, 48_000);
    assert_eq!(info.audio[0].channels, 1);

    // Recording stops by itself at the out point; a silent take is reported, not turned
    // into markers.
    harness.state_mut().studio.markers.clear();
    harness.state_mut().input = Input::Take(Arc::new(vec![0.0; 4_800]), 1, 48_000);
    harness.step();
    harness.get_by_label("Record imitation").click();
    harness.step();
    std::thread::sleep(std::time::Duration::from_millis(900));
    harness.step();
    assert!(harness.query_by_label("Stop recording").is_none());
    assert!(harness.state().studio.markers.is_empty());
    let message = harness.state().studio.last_message().unwrap();
    assert!(message.contains("silent"), "{message}");
}

#[test]
fn library_panel_indexes_searches_and_uses_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    let sfx = dir.path().join("sfx");
    sound_library(&sfx);
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.library = Library::open(
        Some(dir.path().join("library.avslib")),
        &default_model_dir(),
    );
    app.open(media("cfr_25.mp4"));
    app.library.folder = sfx.display().to_string();
    let mut harness = window(app);
    harness.get_by_label("Index folder").click();
    harness.step();
    harness.state_mut().library.wait();
    harness.step();
    let status = harness.state().library.status.clone();
    assert!(
        status.contains("4 new") && status.contains("1 skipped"),
        "{status}"
    );
    assert!(dir.path().join("library.avslib").is_file());

    harness.state_mut().library.query = "door slam".into();
    harness.get_by_label("Search").click();
    harness.step();
    assert!(!harness.state().library.hits.is_empty());
    harness.get_by_label("use 1").click();
    harness.step();
    let reference = harness.state().studio.reference_path.clone();
    assert!(reference.ends_with("door_slam.wav"), "{reference}");
    harness.get_by_label("like 1").click();
    harness.step();
    let lib = &harness.state().library;
    assert!(
        lib.index.entries[lib.hits[0].index]
            .path
            .ends_with("door_slam.wav")
    );

    // A hit spotted on the markers becomes a candidate.
    harness.state_mut().studio.playhead = 0.5;
    harness.state_mut().studio.tap();
    harness.get_by_label("spot 1").click();
    harness.step();
    assert_eq!(
        harness.state().studio.candidates.len(),
        1,
        "{:?}",
        harness.state().studio.log
    );
}

#[test]
fn bad_files_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.open(dir.path().join("missing.mp4"));
    assert!(app.studio.clip.is_none());
    assert!(app.studio.last_message().unwrap().starts_with("error:"));
    app.open(media("tone.wav"));
    assert!(app.studio.last_message().unwrap().contains("no video"));
    app.open(media("cfr_25.mp4"));
    let mut harness = window(app);
    harness.get_by_label("Generate").click();
    harness.step();
    let last = harness.state().studio.last_message().unwrap().to_string();
    assert!(last.contains("no model here"), "{last}");
}

#[test]
fn main_layout_snapshot() {
    // The layout with a clip open (rendered by egui's wgpu renderer; compare against
    // tests/snapshots/main_layout.png, refreshed with UPDATE_SNAPSHOTS=1).
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(&dir.path().join("no-model"), dir.path());
    app.open(media("cfr_25.mp4"));
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut StudioApp| app.show(ui), app);
    for _ in 0..1000 {
        harness.step();
        let s = harness.state();
        if s.picture_shown() && s.thumbnail_count() > 0 && s.motion_ready() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Nothing machine-specific on screen (paths).
    harness.state_mut().studio.log.clear();
    harness.step();
    harness.snapshot_options(
        "main_layout",
        &egui_kittest::SnapshotOptions::new().max_failed_pixels(2_000),
    );
}
