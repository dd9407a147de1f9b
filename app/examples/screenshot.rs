//! Render the editor's window after a generation on the bundled clip into a PNG (the
//! README's screenshot): `cargo run -p avsync-app --example screenshot -- OUT.png
//! [--model DIR]`. Without `--model` an untrained tiny model is used, so the candidates are
//! noise; the layout is what the picture is for.

use std::path::PathBuf;

use avsync_app::gui::audition::Audition;
use avsync_app::gui::studio::Studio;
use avsync_app::gui::view::StudioApp;
use avsync_engine::device::ComputePreference;
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use egui_kittest::Harness;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("editor.png", String::as_str));
    let temp = tempfile::tempdir()?;
    let model = match args.iter().position(|a| a == "--model") {
        Some(i) => PathBuf::from(&args[i + 1]),
        None => {
            let dir = temp.path().join("model");
            init_model_dir(
                Preset::Tiny,
                "untrained tiny",
                &dir,
                &burn::tensor::Device::flex(),
            )?;
            dir
        }
    };
    let mut studio = Studio::new();
    studio.model_dir = model;
    studio.compute = ComputePreference::Cpu;
    studio.request.text = "a cockatoo squawks and flaps its wings".into();
    studio.request.gmds = GmdsSettings {
        population: 3,
        iterations: 1,
        ..GmdsSettings::default()
    };
    studio.request.keep = 2;
    let mut app = StudioApp::new(studio, Audition::silent());
    app.open(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/cockatoo.mp4"
    )));
    app.studio.range = (2.0, 8.0);
    app.studio.playhead = 4.0;
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
