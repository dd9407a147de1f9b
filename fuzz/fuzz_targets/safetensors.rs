//! Safetensors files through both readers: the whole-state reader (training, packing) and the
//! memory-mapped loader the models use, asking for tensors by name and shape. Never a panic;
//! a tensor handed out has the shape asked for and only finite values.
#![no_main]

use avsync_engine::models::weights::{Init, Weights, read_state};
use avsync_fuzz::scratch_file;
use burn::tensor::Device;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("weights.safetensors", data);
    if let Ok(state) = read_state(&path) {
        for (_, t) in &state {
            assert_eq!(t.shape().iter().product::<usize>(), t.num_elements());
        }
    }
    let device = Device::flex();
    let Ok(w) = Weights::from_files(std::slice::from_ref(&path), &device) else {
        return;
    };
    // The names and shapes of the seed corpus' files.
    if let Ok(t) = w.get("a.weight", [2, 3], Init::Zeros) {
        assert_eq!(t.dims(), [2, 3]);
        let v = t.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
    }
    if let Ok(t) = w.pp("a").get("bias", [3], Init::Zeros) {
        assert_eq!(t.dims(), [3]);
    }
    let _ = w.get("h", [4], Init::Zeros);
    let _ = w.finish();
});
