//! DDPM ancestral sampling ("Denoising Diffusion Probabilistic Models", Ho et al. 2020), as
//! diffusers' `DDPMScheduler` with "leading" spacing and the fixed-small variance.

use burn::tensor::Tensor;

use super::{LeadingSteps, NoiseSchedule, Sampler};

/// The DDPM sampler.
pub struct Ddpm(LeadingSteps);

impl Ddpm {
    /// Sample in `steps` steps.
    pub fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        Self(LeadingSteps::new(schedule, steps))
    }
}

impl Sampler for Ddpm {
    fn timesteps(&self) -> &[usize] {
        &self.0.timesteps
    }

    fn is_stochastic(&self) -> bool {
        true
    }

    fn schedule(&self) -> &NoiseSchedule {
        &self.0.schedule
    }

    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        noise: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let (schedule, t) = (&self.0.schedule, self.0.timesteps[index]);
        let a_t = schedule.alpha_bar(t);
        let a_prev = self.0.previous(t).map_or(1.0, |p| schedule.alpha_bar(p));
        let (beta_t, beta_prev) = (1.0 - a_t, 1.0 - a_prev);
        let alpha_t = a_t / a_prev;
        let current_beta = 1.0 - alpha_t;
        let (x0, _) = schedule.x0_and_eps(model_output, sample.clone(), a_t);
        let mean = x0.mul_scalar(a_prev.sqrt() * current_beta / beta_t)
            + sample.mul_scalar(alpha_t.sqrt() * beta_prev / beta_t);
        match noise {
            Some(noise) if t > 0 => {
                let variance = (beta_prev / beta_t * current_beta).max(1e-20);
                mean + noise.mul_scalar(variance.sqrt())
            }
            _ => mean,
        }
    }
}
