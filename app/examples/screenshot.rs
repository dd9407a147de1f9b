//! Render the editor's window after a generation on the bundled clip into a PNG (the
//! README's screenshot): `cargo run -p avsync-app --example screenshot -- OUT.png
//! [--model DIR] [--markers T1,T2,...|picture] [--library DIR --query TEXT]`, with the
//! shipped default model unless `--model` names another; the markers (`picture`: the events
//! the picture shows in the range, as the editor would tap them) drive the timing,
//! and the library (indexed into a temporary file) is searched for the query.

use std::path::PathBuf;

use avsync_app::gui::audition::Audition;
use avsync_app::gui::library::Library;
use avsync_app::gui::studio::Studio;
use avsync_app::gui::view::StudioApp;
use avsync_engine::device::ComputePreference;
use avsync_engine::features::events::{EventPicking, pick_events};
use avsync_engine::features::track::MotionTrack;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::model::default_model_dir;
use egui_kittest::Harness;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("editor.png", String::as_str));
    let option = |name: &str| -> anyhow::Result<Option<&String>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(Some(
                args.get(i + 1)
                    .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?,
            )),
            None => Ok(None),
        }
    };
    let model = option("--model")?.map_or_else(default_model_dir, PathBuf::from);
    let clip = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/cockatoo.mp4"
    ));
    let range = (2.0, 8.0);
    let markers: Vec<f64> = match option("--markers")?.map(String::as_str) {
        Some("picture") => pick_events(
            &MotionTrack::analyse(&clip, range, 4)?,
            &EventPicking::default(),
        )
        .iter()
        .map(|e| e.time_s)
        .collect(),
        Some(list) => list
            .split(',')
            .map(|t| t.trim().parse::<f64>())
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let temp = tempfile::tempdir()?;
    let mut studio = Studio::new();
    studio.model_dir = model.clone();
    studio.compute = ComputePreference::Cpu;
    studio.request.text = "a cockatoo squawks and flaps its wings".into();
    studio.request.gmds = GmdsSettings {
        population: 3,
        iterations: 1,
        ..GmdsSettings::default()
    };
    studio.request.keep = 2;
    let mut app = StudioApp::new(studio, Audition::silent());
    app.open(clip);
    app.studio.range = range;
    for t in markers {
        app.studio.playhead = t;
        app.studio.tap();
    }
    app.studio.playhead = 4.0;
    if let Some(dir) = option("--library")? {
        app.library = Library::open(Some(temp.path().join("library.avslib")), &model);
        app.library.folder = dir.clone();
        app.library.index_folder();
        app.library.wait();
        app.library.query = option("--query")?.cloned().unwrap_or_default();
        app.library.search();
        app.library.wait();
    }
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut StudioApp| app.show(ui), app);
    harness.step();
    harness.state_mut().studio.generate();
    while harness.state().studio.busy() {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for _ in 0..50 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let image = harness
        .render()
        .map_err(|e| anyhow::anyhow!("cannot render: {e}"))?;
    let file = std::fs::File::create(&out)?;
    let mut encoder = png::Encoder::new(file, image.width(), image.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(image.as_raw())?;
    println!("{}", out.display());
    Ok(())
}
