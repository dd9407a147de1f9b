//! Model benchmarks with random weights (not tests: nothing here asserts a time).
//!
//! `cargo bench -p avsync-engine --bench model -- CASE [--device flex|wgpu]` where CASE is
//! `small` (the default model's full 10.24 s generation: 25 DPM-Solver++ steps with
//! classifier-free guidance, VAE decode, vocoder), `tango2-unet` (one Tango-2 U-Net forward
//! at batch 2 on an 8x256x16 latent), `tango2-vae` (AudioLDM VAE decode of 1024x64) or
//! `tango2-vocoder` (AudioLDM HiFi-GAN over 1024 frames), or `kernels` (per-kernel times at
//! the default model's sizes). Prints wall times and the
//! process's peak resident memory. Each case runs in its own process so peaks are separate.
//!
//! The side-by-side with PyTorch (`scripts/bench_torch.py` runs both) uses `unet-forward
//! default|tango2 BATCH` and `vae-decode default|tango2 BATCH`: the shipped default model's
//! U-Net or VAE as loaded from `assets/models/default` (2.56 s windows, 8x64x16 latents), or
//! the Tango-2 preset with random weights (10.24 s, 8x256x16); the median of five runs after
//! one warm-up, printed as `RESULT NAME SECONDS`. `unet-adapted BATCH` times the shipped U-Net
//! with its adapters under a generation's conditions. `AVSYNC_RUNS=N` times N runs instead
//! of five (a longer steady state to profile). The allocator is tuned as the `avsync` binary
//! tunes it, so buffers are allocated and faulted in as in a generation.

mod common;

use std::time::Instant;

use avsync_engine::models::adapters::{AdapterScales, ConditionInputs, Conditions};
use avsync_engine::models::unet::{UNet2DConditionModel, UNetConfig};
use avsync_engine::models::vae::{AutoencoderKL, VaeConfig};
use avsync_engine::models::vocoder::{HifiGan, VocoderConfig};
use avsync_engine::models::weights::Weights;
use avsync_engine::noise::NoiseRng;
use avsync_engine::pipeline::denoise::{GuidedConditions, denoise};
use avsync_engine::schedule::{NoiseSchedule, SamplerKind, ScheduleConfig, sampler};
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// Latent frames for 10.24 s (1024 mel frames / 4).
const T_LATENT: usize = 256;

fn sync(device: &Device) {
    let _ = device.sync();
}

/// Time `f` once after `warmup` unmeasured runs; returns seconds.
fn time<T>(device: &Device, warmup: usize, mut f: impl FnMut() -> T) -> f64 {
    for _ in 0..warmup {
        let _ = f();
        sync(device);
    }
    let start = Instant::now();
    let _ = f();
    sync(device);
    start.elapsed().as_secs_f64()
}

/// Median of `runs` timed runs after one warm-up; returns seconds.
fn median_time<T>(device: &Device, runs: usize, mut f: impl FnMut() -> T) -> f64 {
    let runs = std::env::var("AVSYNC_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(runs);
    let _ = time(device, 0, &mut f);
    let mut times: Vec<f64> = (0..runs).map(|_| time(device, 0, &mut f)).collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// The default model's part `name` (`unet`, `vae`): its config and weights as shipped.
fn shipped(name: &str, device: &Device) -> (std::path::PathBuf, Weights) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models/default")
        .join(name);
    let weights = Weights::from_files(&[dir.join("diffusion_pytorch_model.safetensors")], device)
        .expect("shipped weights");
    (dir.join("config.json"), weights)
}

/// One U-Net forward (a denoising step of `batch` rows, timestep 500, 16 text tokens).
fn unet_forward(model: &str, batch: usize, device: &Device) {
    let (cfg, weights, frames) = match model {
        "default" => {
            let (config, weights) = shipped("unet", device);
            (UNetConfig::from_file(&config).expect("config"), weights, 64)
        }
        _ => (UNetConfig::tango2(), Weights::fresh(device), T_LATENT),
    };
    let unet = UNet2DConditionModel::load(&cfg, &weights, None).expect("U-Net");
    let cond = text_conditions(batch, cfg.cross_attention_dim, device);
    let x: Tensor<4> = NoiseRng::new(0).tensor([batch, 8, frames, 16], device);
    let t = Tensor::<1>::full([batch], 500.0, device);
    let secs = median_time(device, 5, || unet.forward(x.clone(), t.clone(), &cond));
    println!("RESULT unet-{model}-b{batch} {secs:.4}");
}

/// One forward of the shipped default U-Net with its adapters, under the conditions a
/// generation gives (16 text tokens, the global video feature, 32 frame tokens): projecting the
/// conditions in every forward, projected once beforehand, and with the adapters off.
fn unet_adapted(batch: usize, device: &Device) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/models/default");
    let unet =
        UNet2DConditionModel::from_dir(&dir.join("unet"), Some(&dir.join("adapter")), device)
            .expect("default U-Net with adapters");
    let text: Tensor<3> = NoiseRng::new(1).tensor([batch, 16, 384], device);
    let inputs = ConditionInputs {
        video: Some(NoiseRng::new(2).tensor([batch, 39], device)),
        frames: Some(NoiseRng::new(3).tensor([batch, 32, 37], device)),
        audio: None,
    };
    let mask = || Some(Tensor::ones([batch, 16], device));
    let cond = unet.conditions(text.clone(), mask(), &inputs, AdapterScales::default());
    let projected = unet.project(&cond);
    let plain = unet.project(&unet.conditions(text, mask(), &inputs, AdapterScales::OFF));
    let x: Tensor<4> = NoiseRng::new(0).tensor([batch, 8, 64, 16], device);
    let t = Tensor::<1>::full([batch], 500.0, device);
    let each = median_time(device, 5, || unet.forward(x.clone(), t.clone(), &cond));
    let once = median_time(device, 5, || {
        unet.forward_projected(x.clone(), t.clone(), &projected)
    });
    let off = median_time(device, 5, || {
        unet.forward_projected(x.clone(), t.clone(), &plain)
    });
    println!("RESULT unet-adapted-b{batch}-projecting {each:.4}");
    println!("RESULT unet-adapted-b{batch}-projected {once:.4}");
    println!("RESULT unet-adapted-b{batch}-adapters-off {off:.4}");
}

/// One VAE decode of `batch` latents.
fn vae_decode(model: &str, batch: usize, device: &Device) {
    let (cfg, weights, frames) = match model {
        "default" => {
            let (config, weights) = shipped("vae", device);
            (VaeConfig::from_file(&config).expect("config"), weights, 64)
        }
        _ => (VaeConfig::audioldm(), Weights::fresh(device), T_LATENT),
    };
    let vae = AutoencoderKL::load(&cfg, &weights).expect("VAE");
    let z: Tensor<4> = NoiseRng::new(0).tensor([batch, 8, frames, 16], device);
    let secs = median_time(device, 5, || vae.decode(z.clone()));
    println!("RESULT vae-{model}-b{batch} {secs:.4}");
}

fn text_conditions(batch: usize, width: usize, device: &Device) -> Conditions {
    let text: Tensor<3> = NoiseRng::new(1).tensor([batch, 16, width], device);
    Conditions::text(text, Some(Tensor::ones([batch, 16], device)))
}

fn unet(cfg: &UNetConfig, device: &Device) -> UNet2DConditionModel {
    let model =
        UNet2DConditionModel::load(cfg, &Weights::fresh(device), None).expect("fresh U-Net");
    println!("unet parameters: {:.1} M", model.num_params() as f64 / 1e6);
    model
}

fn small(device: &Device) {
    let start = Instant::now();
    let unet = unet(&UNetConfig::small(), device);
    let vae = AutoencoderKL::load(&VaeConfig::small(), &Weights::fresh(device)).expect("fresh VAE");
    let vocoder =
        HifiGan::load(&VocoderConfig::small(), &Weights::fresh(device)).expect("fresh vocoder");
    println!(
        "vae parameters: {:.1} M, vocoder parameters: {:.1} M, init {:.2} s",
        vae.num_params() as f64 / 1e6,
        vocoder.num_params() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    let width = UNetConfig::small().cross_attention_dim;
    let schedule = NoiseSchedule::new(&ScheduleConfig::tango2()).expect("schedule");
    let cond = GuidedConditions {
        both: unet.project(&text_conditions(2, width, device)),
        guidance: 3.0,
    };
    let mut rng = NoiseRng::new(0);
    let mut run = || {
        let t0 = Instant::now();
        let mut s = sampler(SamplerKind::DpmSolver, &schedule, 25).expect("sampler");
        let latents = rng.tensor([1, 8, T_LATENT, 16], device);
        let latents = denoise(
            &unet,
            &cond,
            latents,
            s.as_mut(),
            0,
            std::slice::from_mut(&mut rng),
            device,
            &mut |_, _| true,
        )
        .expect("not cancelled");
        sync(device);
        let t1 = Instant::now();
        let mel = vae.decode(latents.div_scalar(vae.scaling_factor()));
        let [b, _, t, f] = mel.dims();
        sync(device);
        let t2 = Instant::now();
        let wave = vocoder.forward(mel.reshape([b, t, f]));
        sync(device);
        let t3 = Instant::now();
        let samples = wave.dims()[1];
        (t1 - t0, t2 - t1, t3 - t2, samples)
    };
    let _ = run();
    let (d, v, w, samples) = run();
    let total = (d + v + w).as_secs_f64();
    println!(
        "small: 25 steps + CFG {:.2} s, VAE decode {:.2} s, vocoder {:.2} s, total {:.2} s for {:.2} s of audio",
        d.as_secs_f64(),
        v.as_secs_f64(),
        w.as_secs_f64(),
        total,
        samples as f64 / 16_000.0
    );
}

fn tango2_unet(device: &Device) {
    let cfg = UNetConfig::tango2();
    let unet = unet(&cfg, device);
    let cond = text_conditions(2, cfg.cross_attention_dim, device);
    let x: Tensor<4> = NoiseRng::new(0).tensor([2, 8, T_LATENT, 16], device);
    let t = Tensor::<1>::full([2], 500.0, device);
    let secs = time(device, 1, || unet.forward(x.clone(), t.clone(), &cond));
    println!("tango2 U-Net forward, batch 2, 8x{T_LATENT}x16: {secs:.3} s");
}

fn tango2_vae(device: &Device) {
    let vae =
        AutoencoderKL::load(&VaeConfig::audioldm(), &Weights::fresh(device)).expect("fresh VAE");
    println!("vae parameters: {:.1} M", vae.num_params() as f64 / 1e6);
    let z: Tensor<4> = NoiseRng::new(0).tensor([1, 8, T_LATENT, 16], device);
    let secs = time(device, 1, || vae.decode(z.clone()));
    println!("AudioLDM VAE decode to 1024x64: {secs:.3} s");
}

fn tango2_vocoder(device: &Device) {
    let vocoder =
        HifiGan::load(&VocoderConfig::audioldm(), &Weights::fresh(device)).expect("fresh vocoder");
    println!(
        "vocoder parameters: {:.1} M",
        vocoder.num_params() as f64 / 1e6
    );
    let mel: Tensor<3> = NoiseRng::new(0).tensor([1, 1024, 64], device);
    let secs = time(device, 1, || vocoder.forward(mel.clone()));
    println!("AudioLDM HiFi-GAN, 1024 frames (10.24 s): {secs:.3} s");
}

/// Per-kernel times at the default model's sizes: the U-Net's levels at batch 6 (three
/// windows with guidance) and the VAE decoder's at batch 3, to see what dominates a step.
fn kernels(device: &Device) {
    use avsync_engine::models::nn::{Conv2d, GroupNorm};
    use avsync_engine::models::unet::attention::sdpa;
    let w = Weights::fresh(device);
    let mut rng = NoiseRng::new(3);
    let shapes = [
        ("U-Net", 6, 32, 64, 16),
        ("U-Net", 6, 64, 32, 8),
        ("U-Net", 6, 128, 16, 4),
        ("U-Net", 6, 128, 8, 2),
        ("VAE", 3, 64, 64, 16),
        ("VAE", 3, 64, 128, 32),
        ("VAE", 3, 32, 256, 64),
        ("VAE", 3, 16, 256, 64),
    ];
    for (net, b, c, h, wd) in shapes {
        let conv = Conv2d::load(&w.pp(format!("c{c}")), c, c, 3, 1, 1).expect("conv");
        let norm = GroupNorm::load(&w.pp(format!("g{c}")), 8, c, 1e-5).expect("norm");
        let x: Tensor<4> = rng.tensor([b, c, h, wd], device);
        let tc = median_time(device, 9, || conv.forward(x.clone()));
        let tg = median_time(device, 9, || norm.forward(x.clone()));
        let gflop = 2.0 * 9.0 * (c * c * h * wd * b) as f64 / 1e9;
        println!(
            "{net} conv3x3 {c}ch {h}x{wd} x{b}: {:.2} ms ({:.0} GFLOP/s); group norm {:.2} ms",
            tc * 1e3,
            gflop / tc,
            tg * 1e3
        );
    }
    for (tokens, heads, d) in [(256, 2, 32), (64, 4, 32)] {
        let q: Tensor<4> = rng.tensor([6, heads, tokens, d], device);
        let ta = median_time(device, 9, || sdpa(q.clone(), q.clone(), q.clone(), None));
        let gflop = 4.0 * (6 * heads * tokens * tokens * d) as f64 / 1e9;
        println!(
            "self-attention {tokens} tokens x {heads} heads x{d} x6: {:.2} ms ({:.0} GFLOP/s)",
            ta * 1e3,
            gflop / ta
        );
    }
    let cfg = UNetConfig::small();
    let unet = unet(&cfg, device);
    let cond = text_conditions(2, cfg.cross_attention_dim, device);
    let x: Tensor<4> = rng.tensor([2, 8, T_LATENT, 16], device);
    let t = Tensor::<1>::full([2], 500.0, device);
    let secs = time(device, 1, || unet.forward(x.clone(), t.clone(), &cond));
    println!("small U-Net forward, batch 2: {:.1} ms", secs * 1e3);
}

fn main() {
    common::allocate_like_the_app();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let case = args.first().map(String::as_str).unwrap_or("small");
    let device = Device::flex();
    let _ = burn::tensor::Tensor::<1>::zeros([1], &device);
    let part = |i: usize| args.get(i).map(String::as_str);
    let batch = part(2).and_then(|b| b.parse().ok()).unwrap_or(2);
    match case {
        "unet-forward" => unet_forward(part(1).unwrap_or("default"), batch, &device),
        "unet-adapted" => unet_adapted(part(1).and_then(|b| b.parse().ok()).unwrap_or(6), &device),
        "vae-decode" => vae_decode(part(1).unwrap_or("default"), batch, &device),
        "small" => small(&device),
        "kernels" => kernels(&device),
        "tango2-unet" => tango2_unet(&device),
        "tango2-vae" => tango2_vae(&device),
        "tango2-vocoder" => tango2_vocoder(&device),
        other => {
            eprintln!("unknown case {other}: small, tango2-unet, tango2-vae, tango2-vocoder");
            std::process::exit(2);
        }
    }
    println!("peak resident memory: {:.0} MiB", common::peak_rss_mib());
}
