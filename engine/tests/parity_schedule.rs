//! DDPM, DDIM and DPM-Solver++ (2M) against diffusers over whole 10-step trajectories, for
//! epsilon and v-prediction (fixtures by `tests/parity/model_reference.py`).

mod common;

use avsync_engine::schedule::{NoiseSchedule, Prediction, SamplerKind, ScheduleConfig, sampler};
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;

fn check(file: &str, kind: SamplerKind, prediction: Prediction) {
    let device = Device::flex();
    let io = Fixture::load(&format!("schedulers/{file}.safetensors"));
    let cfg = ScheduleConfig {
        prediction_type: prediction,
        ..ScheduleConfig::tango2()
    };
    let schedule = NoiseSchedule::new(&cfg).unwrap();
    let err = max_rel_err(&schedule.alphas_cumprod, io.values("alphas_cumprod"));
    assert!(err < 1e-6, "{file}: alphas_cumprod error {err:e}");

    let mut s = sampler(kind, &schedule, 10).unwrap();
    let expected_t: Vec<usize> = io.values("timesteps").iter().map(|t| *t as usize).collect();
    assert_eq!(s.timesteps(), expected_t.as_slice(), "{file}");
    assert_eq!(s.is_stochastic(), kind == SamplerKind::Ddpm);

    let mut sample: Tensor<4> = io.tensor("initial_sample", &device);
    let [_, c, h, w] = sample.dims();
    let per_step = c * h * w;
    let model_outputs = io.values("model_output");
    let prev_samples = io.values("prev_sample");
    for (i, &t) in expected_t.iter().enumerate() {
        // The fixture's stand-in model: 0.3 * sample + 0.1 * sin(t / 100).
        let out = sample
            .clone()
            .mul_scalar(0.3)
            .add_scalar(0.1 * ((t as f32) / 100.0).sin());
        let range = i * per_step..(i + 1) * per_step;
        assert!(
            max_rel_err(&values(out.clone()), &model_outputs[range.clone()]) < TOL,
            "{file} step {i} model output"
        );
        let noise = (kind == SamplerKind::Ddpm).then(|| {
            let n = io.values("noise")[range.clone()].to_vec();
            Tensor::<1>::from_floats(n.as_slice(), &device).reshape([1, c, h, w])
        });
        sample = s.step(i, out, sample, noise);
        let err = max_rel_err(&values(sample.clone()), &prev_samples[range]);
        assert!(err < TOL, "{file} step {i} (t = {t}): error {err:e}");
    }

    // Forward process for training.
    let x0: Tensor<4> = io.tensor("add_noise_x0", &device);
    let noise: Tensor<4> = io.tensor("add_noise_noise", &device);
    let expected = io.values("add_noise_out");
    for (k, t) in io.values("add_noise_timesteps").iter().enumerate() {
        let got = values(schedule.add_noise(x0.clone(), noise.clone(), *t as usize));
        let err = max_rel_err(&got, &expected[k * per_step..(k + 1) * per_step]);
        assert!(err < TOL, "{file} add_noise t={t}: {err:e}");
        if kind != SamplerKind::DpmSolver {
            let v = values(schedule.velocity(x0.clone(), noise.clone(), *t as usize));
            let err = max_rel_err(&v, &io.values("velocity")[k * per_step..(k + 1) * per_step]);
            assert!(err < TOL, "{file} velocity t={t}: {err:e}");
        }
    }
}

#[test]
fn ddpm_epsilon() {
    check("ddpm_epsilon", SamplerKind::Ddpm, Prediction::Epsilon);
}

#[test]
fn ddpm_v_prediction() {
    check(
        "ddpm_v_prediction",
        SamplerKind::Ddpm,
        Prediction::VPrediction,
    );
}

#[test]
fn ddim_epsilon() {
    check("ddim_epsilon", SamplerKind::Ddim, Prediction::Epsilon);
}

#[test]
fn ddim_v_prediction() {
    check(
        "ddim_v_prediction",
        SamplerKind::Ddim,
        Prediction::VPrediction,
    );
}

#[test]
fn dpm_solver_epsilon() {
    check(
        "dpmsolver_epsilon",
        SamplerKind::DpmSolver,
        Prediction::Epsilon,
    );
}

#[test]
fn dpm_solver_v_prediction() {
    check(
        "dpmsolver_v_prediction",
        SamplerKind::DpmSolver,
        Prediction::VPrediction,
    );
}

#[test]
fn bad_settings_are_errors() {
    let schedule = NoiseSchedule::new(&ScheduleConfig::tango2()).unwrap();
    assert!(sampler(SamplerKind::Ddim, &schedule, 0).is_err());
    assert!(sampler(SamplerKind::Ddim, &schedule, 1001).is_err());
    let bad = ScheduleConfig {
        beta_end: 1.5,
        ..ScheduleConfig::tango2()
    };
    assert!(NoiseSchedule::new(&bad).is_err());
    assert!("euler".parse::<SamplerKind>().is_err());
}
