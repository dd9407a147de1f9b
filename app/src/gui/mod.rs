//! The editor window (`avsync` with no arguments): eframe on wgpu.

pub mod audition;
pub mod beds;
pub mod candidate;
pub mod frames;
pub mod library;
pub mod markers;
pub mod project;
pub mod recorder;
pub mod studio;
pub mod timecode;
pub mod timing;
pub mod view;

use studio::Studio;
use view::StudioApp;

/// Open the editor window; returns when it is closed.
pub fn run() -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("AvSync Studio")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "AvSync Studio",
        options,
        Box::new(|_cc| {
            let mut studio = Studio::new();
            studio.recent_file = Studio::default_recent_file();
            studio.load_recent();
            studio.autosave_every = Some(std::time::Duration::from_secs(60));
            let model_dir = studio.model_dir.clone();
            let mut app = StudioApp::new(studio, audition::Audition::new());
            app.library =
                library::Library::open(crate::settings::default_library_index(), &model_dir);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the editor window: {e}"))
}
