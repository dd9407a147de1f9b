//! DDIM ("Denoising Diffusion Implicit Models", Song et al. 2021) with eta = 0: the
//! deterministic sampler of diffusers' `DDIMScheduler`, "leading" spacing.

use burn::tensor::Tensor;

use super::{NoiseSchedule, Sampler};

/// The DDIM sampler.
pub struct Ddim {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    stride: usize,
}

impl Ddim {
    /// Sample in `steps` steps.
    pub fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        let timesteps = schedule.leading_timesteps(steps);
        let stride = schedule.config.num_train_timesteps / steps;
        Self {
            schedule,
            timesteps,
            stride,
        }
    }
}

impl Sampler for Ddim {
    fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        _noise: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let t = self.timesteps[index];
        let a_t = self.schedule.alpha_bar(t);
        let final_alpha = if self.schedule.config.set_alpha_to_one {
            1.0
        } else {
            self.schedule.alpha_bar(0)
        };
        let a_prev = t
            .checked_sub(self.stride)
            .map_or(final_alpha, |p| self.schedule.alpha_bar(p));
        let (x0, eps) = self.schedule.x0_and_eps(model_output, sample, a_t);
        x0.mul_scalar(a_prev.sqrt()) + eps.mul_scalar((1.0 - a_prev).sqrt())
    }
}
