//! Choosing where the networks run: a real GPU through wgpu when one exists, the flex CPU
//! backend otherwise. Software adapters (Mesa's lavapipe, llvmpipe) are never chosen: they
//! are slower than flex and burn's kernels are not reliable on them.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputePreference {
    /// A real GPU if there is one, else the CPU.
    #[default]
    Auto,
    /// The CPU (flex backend).
    Cpu,
    /// A GPU; falls back to the CPU, with the reason, when there is none.
    Gpu,
}

impl std::str::FromStr for ComputePreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            other => Err(format!("unknown device `{other}` (auto, cpu, gpu)")),
        }
    }
}

/// The chosen device and why.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    /// The burn device.
    pub device: Device,
    /// Whether it is a GPU.
    pub is_gpu: bool,
    /// A short name for a status bar ("CPU (flex, 2 threads)", "NVIDIA H100 (Vulkan)").
    pub name: String,
    /// Why this device was chosen.
    pub reason: String,
}

/// Pick the device for `preference`.
pub fn select(preference: ComputePreference) -> ComputeDevice {
    let cpu = |reason: String| ComputeDevice {
        device: Device::flex(),
        is_gpu: false,
        name: format!(
            "CPU (flex, {} threads)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        reason,
    };
    if preference == ComputePreference::Cpu {
        return cpu("CPU requested".into());
    }
    match gpu::find() {
        Ok(found) => found,
        Err(why) => cpu(why),
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use burn::backend::wgpu::wgpu;
    use burn::tensor::{Device, DeviceKind};

    use super::ComputeDevice;

    /// Drive a future that native wgpu completes without waiting.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }

    /// The first hardware adapter, as a burn device.
    pub fn find() -> Result<ComputeDevice, String> {
        // The native APIs only: OpenGL adapters are not used for compute, and probing them
        // needs a display.
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        desc.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(desc);
        let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
        let pick = |kind: wgpu::DeviceType| {
            infos
                .iter()
                .filter(|i| i.device_type == kind)
                .cloned()
                .collect::<Vec<_>>()
        };
        for (kind, make) in [
            (
                wgpu::DeviceType::DiscreteGpu,
                DeviceKind::DiscreteGpu as fn(usize) -> DeviceKind,
            ),
            (wgpu::DeviceType::IntegratedGpu, DeviceKind::IntegratedGpu),
            (wgpu::DeviceType::VirtualGpu, DeviceKind::VirtualGpu),
        ] {
            if let Some(info) = pick(kind).first() {
                return Ok(ComputeDevice {
                    device: Device::wgpu(make(0)),
                    is_gpu: true,
                    name: format!("{} ({:?})", info.name, info.backend),
                    reason: format!("{:?} adapter found", info.device_type),
                });
            }
        }
        Err(
            match infos
                .iter()
                .find(|i| i.device_type == wgpu::DeviceType::Cpu)
            {
                Some(soft) => format!("only a software GPU adapter ({}) is available", soft.name),
                None => "no GPU adapter found".into(),
            },
        )
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::ComputeDevice;

    pub fn find() -> Result<ComputeDevice, String> {
        Err("this build has no GPU support".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_honoured_and_auto_always_yields_a_device() {
        let d = select(ComputePreference::Cpu);
        assert!(!d.is_gpu && d.reason == "CPU requested");
        let auto = select(ComputePreference::Auto);
        assert!(!auto.name.is_empty() && !auto.reason.is_empty());
        assert!(
            "GPU".parse::<ComputePreference>().is_ok()
                && "tpu".parse::<ComputePreference>().is_err()
        );
    }
}
