//! Audio signal processing for the Foley pipeline: the mel front end the diffusion model was
//! trained on (AudioLDM / Tango), its mapping onto a pretrained vocoder's mel, a vocoder-free
//! Griffin-Lim inverse, EBU R128 loudness, onset detection for video sync, the
//! sample-accurate edits the timeline needs, and seamless loops for beds.
//!
//! Numerics that must match a reference implementation (mel filterbank, log-mel, onset
//! strength) are ported operation by operation and checked against fixtures produced by
//! `tests/parity/dsp_reference.py`.

pub mod draft_voicing;
pub mod edit;
pub mod griffin_lim;
pub mod looping;
pub mod loudness;
pub mod master;
pub mod mel;
pub mod mel_map;
pub mod onset;
pub mod stft;

pub use edit::{FadeShape, FrameRate};
pub use griffin_lim::{GriffinLimConfig, PhaseInit};
pub use loudness::{Loudness, NormalizeReport};
pub use mel::{
    MelConfig, MelExtractor, MelFilterbank, MelFraming, MelNorm, MelScale, MelSpectrogram,
};
pub use onset::{OnsetConfig, OnsetDetector, OnsetEnvelope, Onsets, PeakPickParams};
pub use stft::{
    Complex64, ComplexSpectrogram, MagnitudeSpectrogram, PadMode, Spectrogram, Stft, StftConfig,
};

/// Test-only access to the parity fixtures written by `tests/parity/dsp_reference.py`.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// Where the fixture `name` lives.
    pub(crate) fn fixture_path(name: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/parity/fixtures"
        ))
        .join(name)
    }

    /// One tensor of a fixture file: its shape and its values widened to f64.
    pub(crate) struct Tensor {
        pub shape: Vec<usize>,
        pub values: Vec<f64>,
    }

    impl Tensor {
        pub(crate) fn as_f32(&self) -> Vec<f32> {
            self.values.iter().map(|&v| v as f32).collect()
        }
    }

    /// Every tensor of the fixture file `name` (f32, f64, i64 and i16 tensors are supported).
    pub(crate) fn load(name: &str) -> HashMap<String, Tensor> {
        use safetensors::{Dtype, SafeTensors};
        let path = fixture_path(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
        let file = SafeTensors::deserialize(&bytes).expect("malformed safetensors fixture");
        file.tensors()
            .into_iter()
            .map(|(key, view)| {
                let data = view.data();
                let values: Vec<f64> = match view.dtype() {
                    Dtype::F32 => data
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                        .collect(),
                    Dtype::F64 => data
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                        .collect(),
                    Dtype::I64 => data
                        .chunks_exact(8)
                        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
                        .collect(),
                    Dtype::I16 => data
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f64)
                        .collect(),
                    other => panic!("unsupported fixture dtype {other:?} for {key}"),
                };
                let tensor = Tensor {
                    shape: view.shape().to_vec(),
                    values,
                };
                (key, tensor)
            })
            .collect()
    }
}
