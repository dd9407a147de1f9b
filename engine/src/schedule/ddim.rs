//! DDIM ("Denoising Diffusion Implicit Models", Song et al. 2021) with eta = 0: the
//! deterministic sampler of diffusers' `DDIMScheduler`, "leading" spacing.

use burn::tensor::Tensor;

use super::{LeadingSteps, NoiseSchedule, Sampler};

/// The DDIM sampler.
pub struct Ddim(LeadingSteps);

impl Ddim {
    /// Sample in `steps` steps.
    pub fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        Self(LeadingSteps::new(schedule, steps))
    }
}

impl Sampler for Ddim {
    fn timesteps(&self) -> &[usize] {
        &self.0.timesteps
    }

    fn schedule(&self) -> &NoiseSchedule {
        &self.0.schedule
    }

    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        _noise: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let (schedule, t) = (&self.0.schedule, self.0.timesteps[index]);
        let a_t = schedule.alpha_bar(t);
        let final_alpha = if schedule.config.set_alpha_to_one {
            1.0
        } else {
            schedule.alpha_bar(0)
        };
        let a_prev = self
            .0
            .previous(t)
            .map_or(final_alpha, |p| schedule.alpha_bar(p));
        let (x0, eps) = schedule.x0_and_eps(model_output, sample, a_t);
        x0.mul_scalar(a_prev.sqrt()) + eps.mul_scalar((1.0 - a_prev).sqrt())
    }
}
