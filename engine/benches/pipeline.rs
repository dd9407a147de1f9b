//! End-to-end generation benchmarks with random weights (nothing here asserts a time).
//!
//! `cargo bench -p avsync-engine --bench pipeline -- CASE [--preset small|tiny]
//! [--device flex|wgpu] [--video PATH]`, CASE one of:
//! - `single`: one full-quality candidate (25 DPM-Solver++ steps, guidance) for one window;
//! - `gmds`: Algorithm 1 with N = 6, T = 2 (30 scored candidates at 4 search steps, all
//!   proposals of an iteration batched, scored from the VAE's spectrogram) and the best 2
//!   rendered at full quality, for one window;
//! - `long`: one full-quality candidate over the first 60 s of `--video` (the windows and
//!   the stitching), for memory.
//!
//! Prints the time per stage and the process's peak resident memory.

mod common;

use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_engine::pipeline::{FeatureCache, GenerationRequest, Model, generate};
use burn::tensor::Device;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    common::allocate_like_the_app();
    let case = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && ["single", "gmds", "long"].contains(&a.as_str()))
        .unwrap_or_else(|| "single".into());
    let preset: Preset = arg("--preset")
        .unwrap_or_else(|| "small".into())
        .parse()
        .expect("preset");
    let device = match arg("--device").as_deref() {
        Some("wgpu") => {
            avsync_engine::device::select(avsync_engine::device::ComputePreference::Gpu).device
        }
        _ => Device::flex(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    init_model_dir(preset, "bench", dir.path(), &device).expect("model");
    let model = Model::load(dir.path(), &device).expect("load");
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/cockatoo.mp4");
    let window = model.window_seconds();
    let base = GenerationRequest {
        text: "a cockatoo squawks and flaps its wings".into(),
        start_s: Some(0.0),
        end_s: Some(window.min(14.0)),
        ..GenerationRequest::new(demo)
    };
    // One full-quality candidate: no search.
    let single = |r: GenerationRequest| GenerationRequest {
        gmds: GmdsSettings {
            population: 1,
            iterations: 0,
            ..GmdsSettings::default()
        },
        search_steps: None,
        keep: 1,
        ..r
    };
    let request = match case.as_str() {
        "single" => single(base),
        "gmds" => base,
        _ => single(GenerationRequest {
            video: arg("--video").expect("--video PATH (at least 60 s)").into(),
            start_s: Some(0.0),
            end_s: Some(60.0),
            ..base
        }),
    };
    let report = generate(
        &model,
        &request,
        &mut FeatureCache::new(),
        &device,
        &mut |_| true,
    )
    .expect("generate")
    .expect("not cancelled");
    let t = &report.timings;
    println!(
        "{case} ({preset:?}, {} window(s) of {window} s): total {:.2} s | analyse {:.2} | encode {:.2} | search {:.2} | render {:.2} | vocode {:.2} | U-Net evaluations {} (search {}) | peak RSS {:.0} MiB",
        report.windows.len(),
        t.total_s,
        t.analyse_s,
        t.encode_s,
        t.search_s,
        t.render_s,
        t.vocode_s,
        report.network_evaluations,
        report.search_evaluations,
        common::peak_rss_mib()
    );
}
