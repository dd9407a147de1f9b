//! The generator's networks (paper section 3): the Tango-2 latent-diffusion U-Net with the
//! AvSync adapters, and the shared building blocks and weight loading.

pub mod adapters;
pub mod checkpoint;
pub mod heads;
pub mod kernels;
pub mod nn;
pub mod resnet;
pub mod unet;
pub mod vae;
pub mod vocoder;
pub mod weights;
