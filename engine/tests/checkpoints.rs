//! Loading checkpoints that are wrong in every way a user's download can be: each gives an
//! error naming the file and the problem, never a panic. Half-precision files load.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use avsync_engine::models::adapters::{AdapterScales, ConditionInputs};
use avsync_engine::models::unet::UNet2DConditionModel;
use burn::tensor::Device;
use common::*;
use safetensors::{Dtype, tensor::TensorView};

const WEIGHTS: &str = "diffusion_pytorch_model.safetensors";

/// The tiny U-Net's tensors as (dtype, shape, bytes).
fn tensors() -> BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(fixture_path("tiny_tango/unet").join(WEIGHTS)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

/// A copy of the tiny U-Net directory whose weights file is `tensors`, written as `name`.
fn unet_dir(
    root: &Path,
    tensors: &BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
    name: &str,
) -> std::path::PathBuf {
    let dir = root.join("unet");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        fixture_path("tiny_tango/unet/config.json"),
        dir.join("config.json"),
    )
    .unwrap();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(k, (d, s, b))| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join(name)).unwrap();
    dir
}

fn load_err(dir: &Path) -> String {
    UNet2DConditionModel::from_dir(dir, None, &Device::flex())
        .expect_err("load must fail")
        .to_string()
}

#[test]
fn missing_directory_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load_err(&tmp.path().join("nowhere"));
    assert!(
        err.contains("nowhere") && err.contains("does not exist"),
        "{err}"
    );
    std::fs::create_dir_all(tmp.path().join("unet")).unwrap();
    std::fs::copy(
        fixture_path("tiny_tango/unet/config.json"),
        tmp.path().join("unet/config.json"),
    )
    .unwrap();
    let err = load_err(&tmp.path().join("unet"));
    assert!(
        err.contains("no diffusion_pytorch_model.safetensors"),
        "{err}"
    );
}

#[test]
fn truncated_and_corrupt_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unet_dir(tmp.path(), &tensors(), WEIGHTS);
    let path = dir.join(WEIGHTS);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(&dir);
    assert!(
        err.contains(WEIGHTS) && err.contains("truncated or corrupt"),
        "{err}"
    );
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    assert!(load_err(&dir).contains("truncated or corrupt"));
    std::fs::write(dir.join("config.json"), b"{ not json").unwrap();
    let err = load_err(&dir);
    assert!(
        err.contains("config.json") && err.contains("invalid JSON"),
        "{err}"
    );
}

#[test]
fn missing_unexpected_and_misshapen_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = tensors();
    t.remove("conv_in.bias");
    let err = load_err(&unet_dir(tmp.path(), &t, WEIGHTS));
    assert!(
        err.contains(WEIGHTS) && err.contains("missing tensor `conv_in.bias`"),
        "{err}"
    );

    let mut t = tensors();
    t.insert("extra.weight".into(), (Dtype::F32, vec![1], vec![0; 4]));
    let err = load_err(&unet_dir(tmp.path(), &t, WEIGHTS));
    assert!(
        err.contains("1 unexpected tensor(s)") && err.contains("`extra.weight`"),
        "{err}"
    );

    let mut t = tensors();
    t.insert("conv_in.bias".into(), (Dtype::F32, vec![3], vec![0; 12]));
    let err = load_err(&unet_dir(tmp.path(), &t, WEIGHTS));
    assert!(
        err.contains("`conv_in.bias` has shape [3], the model expects [16]"),
        "{err}"
    );
}

#[test]
fn non_finite_weights_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = tensors();
    let bias = t.get_mut("conv_out.bias").unwrap();
    bias.2[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = load_err(&unet_dir(tmp.path(), &t, WEIGHTS));
    assert!(
        err.contains("`conv_out.bias` contains NaN or infinite values"),
        "{err}"
    );
}

#[test]
fn half_precision_checkpoints_load_and_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let half: BTreeMap<_, _> = tensors()
        .into_iter()
        .map(|(k, (_, s, b))| {
            let h: Vec<u8> = b
                .chunks_exact(4)
                .flat_map(|c| {
                    half::f16::from_f32(f32::from_le_bytes(c.try_into().unwrap())).to_le_bytes()
                })
                .collect();
            (k, (Dtype::F16, s, h))
        })
        .collect();
    let dir = unet_dir(
        tmp.path(),
        &half,
        "diffusion_pytorch_model.fp16.safetensors",
    );
    let device = Device::flex();
    let unet = UNet2DConditionModel::from_dir(&dir, None, &device).unwrap();
    let io = Fixture::load("unet_io.safetensors");
    let cond = unet.conditions(
        io.tensor("encoder_hidden_states", &device),
        Some(io.tensor("encoder_attention_mask", &device)),
        &ConditionInputs {
            video: None,
            frames: None,
            audio: None,
        },
        AdapterScales::OFF,
    );
    let out = values(unet.forward(
        io.tensor("sample", &device),
        io.tensor("timesteps", &device),
        &cond,
    ));
    let err = max_rel_err(&out, io.values("out"));
    assert!(err < 2e-2, "f16 weights: error {err}");
}

/// Zero sizes in a configuration (found by fuzzing: a head count of 0 divided by zero while
/// validating) are refused with the field named.
#[test]
fn zero_sizes_in_configurations_are_refused() {
    use avsync_engine::encoders::bert::BertConfig;
    use avsync_engine::models::unet::UNetConfig;
    use avsync_engine::models::vae::VaeConfig;
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/models");
    let tmp = tempfile::tempdir().unwrap();
    let edited = |file: &str, key: &str, value: serde_json::Value| {
        let text = std::fs::read_to_string(assets.join(file)).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json[key] = value;
        let path = tmp
            .path()
            .join(format!("{}-{key}.json", file.replace('/', "-")));
        std::fs::write(&path, json.to_string()).unwrap();
        path
    };
    let unet = "default/unet/config.json";
    for (key, value) in [
        ("attention_head_dim", serde_json::json!([0, 2, 4, 4])),
        ("attention_head_dim", serde_json::json!([0])),
        ("norm_num_groups", serde_json::json!(0)),
        ("block_out_channels", serde_json::json!([0, 64, 128, 128])),
        ("layers_per_block", serde_json::json!(0)),
    ] {
        let path = edited(unet, key, value);
        let err = UNetConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
    let path = edited("default/vae/config.json", "norm_num_groups", 0.into());
    let err = VaeConfig::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("group count"), "{err}");
    let path = edited("minilm/config.json", "num_attention_heads", 0.into());
    let err = BertConfig::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("heads"), "{err}");
    // The shipped configurations themselves load.
    assert!(UNetConfig::from_file(&assets.join(unet)).is_ok());
}
