//! Shared helpers for the parity tests: fixture tensors and tolerance checks.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};

/// Path of a file under `tests/parity/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/parity/fixtures"
    ))
    .join(name)
}

/// All f32 tensors of a fixture file, by name.
pub struct Fixture(HashMap<String, (Vec<usize>, Vec<f32>)>);

impl Fixture {
    pub fn load(name: &str) -> Self {
        let bytes = std::fs::read(fixture_path(name)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let map = st
            .tensors()
            .into_iter()
            .map(|(k, v)| {
                let b = v.data();
                let data: Vec<f32> = match v.dtype() {
                    safetensors::Dtype::F32 => b
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                    safetensors::Dtype::I64 => b
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
                        .collect(),
                    safetensors::Dtype::I16 => b
                        .chunks_exact(2)
                        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
                        .collect(),
                    safetensors::Dtype::U8 => b.iter().map(|&x| f32::from(x)).collect(),
                    other => panic!("unsupported fixture dtype {other:?}"),
                };
                (k, (v.shape().to_vec(), data))
            })
            .collect();
        Self(map)
    }

    pub fn tensor_count(&self) -> usize {
        self.0.len()
    }

    pub fn values(&self, name: &str) -> &[f32] {
        &self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no `{name}`"))
            .1
    }

    pub fn tensor<const D: usize>(&self, name: &str, device: &Device) -> Tensor<D> {
        let (shape, data) = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no `{name}`"));
        Tensor::from_data(TensorData::new(data.clone(), shape.clone()), device)
    }
}

impl Fixture {
    /// Integer tensor (ids, masks, codes).
    pub fn ints<const D: usize>(
        &self,
        name: &str,
        device: &Device,
    ) -> Tensor<D, burn::tensor::Int> {
        let (shape, data) = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no `{name}`"));
        let ints: Vec<i32> = data.iter().map(|&x| x as i32).collect();
        Tensor::from_data(TensorData::new(ints, shape.clone()), device)
    }

    /// Shape of a tensor.
    pub fn shape(&self, name: &str) -> &[usize] {
        &self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no `{name}`"))
            .0
    }

    /// String metadata entry.
    pub fn metadata(name: &str, key: &str) -> String {
        let bytes = std::fs::read(fixture_path(name)).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        meta.metadata()
            .as_ref()
            .and_then(|m| m.get(key).cloned())
            .unwrap_or_else(|| panic!("no metadata `{key}`"))
    }
}

/// Largest `|a - b| / (1 + |b|)`, the tests' relative error measure.
pub fn max_rel_err(actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    actual
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0, f32::max)
}

/// Values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// Assert `actual` matches `expected` within `tol` relative error, naming `what`.
pub fn assert_close<const D: usize>(actual: Tensor<D>, expected: &[f32], tol: f32, what: &str) {
    let a = values(actual);
    let err = max_rel_err(&a, expected);
    assert!(err <= tol, "{what}: max relative error {err:e} > {tol:e}");
    eprintln!("{what}: max relative error {err:e}");
}
