//! The denoising loop with classifier-free guidance ("Classifier-Free Diffusion Guidance",
//! Ho and Salimans, 2022): every step runs the unconditional and the conditional inputs of
//! all candidates as one batch through the U-Net and extrapolates
//! `uncond + g * (cond - uncond)`.

use burn::tensor::{Device, Tensor};

use crate::noise::NoiseRng;

use crate::models::unet::{ProjectedConditions, UNet2DConditionModel};
use crate::schedule::Sampler;

/// What the loop reports after each step; returning `false` cancels.
pub type StepCallback<'a> = dyn FnMut(usize, usize) -> bool + 'a;

/// Conditions for a guided batch of `n` candidates: the first `n` rows unconditional
/// (empty or negative text, adapters as given), the last `n` conditional.
pub struct GuidedConditions {
    /// `[uncond; cond]` conditions, batch `2n`.
    pub both: ProjectedConditions,
    /// Guidance scale; 1 disables guidance (only the conditional half is used).
    pub guidance: f64,
}

/// Denoise `latents` (`[n, C, T, F]`, noised to the level of the sampler's timestep
/// `start`) through the sampler's steps from `start` on (0: all of them, from pure noise);
/// `rngs` (one per candidate) supply the fresh noise of stochastic samplers, so a
/// candidate's trajectory does not depend on which others share its batch. `on_step(i,
/// total)` runs after each step and may cancel by returning `false`, in which case `None` is
/// returned.
#[allow(clippy::too_many_arguments)]
pub fn denoise(
    unet: &UNet2DConditionModel,
    cond: &GuidedConditions,
    mut latents: Tensor<4>,
    sampler: &mut dyn Sampler,
    start: usize,
    rngs: &mut [NoiseRng],
    device: &Device,
    on_step: &mut StepCallback<'_>,
) -> Option<Tensor<4>> {
    let n = latents.dims()[0];
    assert_eq!(rngs.len(), n, "one noise generator per candidate");
    let timesteps = sampler.timesteps().to_vec();
    let total = timesteps.len();
    // Without guidance the unconditional rows would be computed and thrown away.
    let unguided = (cond.guidance == 1.0).then(|| cond.both.conditional());
    for (i, &t) in timesteps.iter().enumerate().skip(start) {
        let guided = match &unguided {
            Some(conditional) => {
                let ts = Tensor::<1>::full([n], t as f32, device);
                unet.forward_projected(latents.clone(), ts, conditional)
            }
            None => {
                let input = Tensor::cat(vec![latents.clone(), latents.clone()], 0);
                let ts = Tensor::<1>::full([2 * n], t as f32, device);
                let out = unet.forward_projected(input, ts, &cond.both);
                let mut halves = out.chunk(2, 0);
                let conditional = halves.pop().expect("two halves");
                let unconditional = halves.pop().expect("two halves");
                unconditional.clone() + (conditional - unconditional).mul_scalar(cond.guidance)
            }
        };
        let noise = sampler.is_stochastic().then(|| {
            let [_, c, h, w] = latents.dims();
            Tensor::cat(
                rngs.iter_mut()
                    .map(|r| r.tensor([1, c, h, w], device))
                    .collect(),
                0,
            )
        });
        latents = sampler.step(i, guided, latents, noise);
        if !on_step(i + 1, total) {
            return None;
        }
    }
    Some(latents)
}
