//! CLIP image encoder against transformers' `CLIPVisionModelWithProjection` and open_clip's
//! `VisionTransformer` (same weights in both key layouts, GELU and QuickGELU), and OpenCLIP's
//! preprocessing against Pillow and torchvision (fixtures by
//! `tests/parity/encoder_reference.py`).

mod common;

use avsync_engine::Error;
use avsync_engine::encoders::clip::{
    ClipActivation, ClipImageEncoder, ClipKeys, ClipVision, ClipVisionConfig,
};
use avsync_engine::encoders::clip_preprocess::{
    ClipPreprocess, RgbImage, crop_offset, resize_bicubic_u8,
};
use avsync_engine::models::weights::Weights;
use burn::tensor::{Device, Tensor};
use common::*;

const TOL: f32 = 1e-4;
const IO: &str = "encoders/clip_vision_io.safetensors";
const PRE: &str = "encoders/clip_preprocess.safetensors";

fn config(act: ClipActivation) -> ClipVisionConfig {
    let mut cfg =
        ClipVisionConfig::from_file(&fixture_path("encoders/clip_vision_tiny/config.json"))
            .unwrap();
    cfg.hidden_act = act;
    cfg
}

fn files(layout: ClipKeys) -> Vec<std::path::PathBuf> {
    vec![match layout {
        ClipKeys::Transformers => fixture_path("encoders/clip_vision_tiny/model.safetensors"),
        ClipKeys::OpenClip => fixture_path("encoders/clip_vision_tiny_openclip.safetensors"),
    }]
}

#[test]
fn config_and_preset() {
    let cfg = config(ClipActivation::Gelu);
    assert_eq!(
        cfg.hidden_act,
        ClipActivation::Gelu,
        "the config names gelu"
    );
    assert_eq!((cfg.image_size, cfg.patch_size, cfg.grid()), (32, 8, 4));
    let h = ClipVisionConfig::vit_h_14();
    assert_eq!(
        (
            h.image_size,
            h.patch_size,
            h.hidden_size,
            h.num_hidden_layers
        ),
        (224, 14, 1280, 32)
    );
    assert_eq!((h.num_attention_heads, h.projection_dim), (16, 1024));
    assert_eq!(h.hidden_act, ClipActivation::Gelu);
}

#[test]
fn both_layouts_and_activations_match() {
    let device = Device::flex();
    let io = Fixture::load(IO);
    for layout in [ClipKeys::Transformers, ClipKeys::OpenClip] {
        let w = Weights::from_files(&files(layout), &device).unwrap();
        assert_eq!(ClipKeys::detect(&w), layout);
        for (act, suffix) in [
            (ClipActivation::Gelu, ""),
            (ClipActivation::QuickGelu, "_quick_gelu"),
        ] {
            let w = Weights::from_files(&files(layout), &device).unwrap();
            let model = ClipVision::load(&config(act), &w).unwrap();
            let out = model.forward(io.tensor("pixel_values", &device)).unwrap();
            let what = format!("{layout:?} {act:?}");
            assert_close(
                out.last_hidden_state,
                io.values(&format!("last_hidden_state{suffix}")),
                TOL,
                &format!("{what} last hidden state"),
            );
            assert_close(
                out.image_embeds,
                io.values(&format!("image_embeds{suffix}")),
                TOL,
                &format!("{what} image embeds"),
            );
        }
    }
}

fn image(pre: &Fixture, i: usize) -> (usize, usize, Vec<u8>) {
    let name = format!("image_{i}");
    let shape = pre.shape(&name).to_vec();
    let data = pre.values(&name).iter().map(|&v| v as u8).collect();
    (shape[1], shape[0], data)
}

#[test]
fn pillow_resize_is_exact() {
    let pre = Fixture::load(PRE);
    let p = ClipPreprocess::openai(32);
    for i in 0..2 {
        let (w, h, data) = image(&pre, i);
        let img = RgbImage::new(w, h, &data).unwrap();
        let (rw, rh, resized) = p.resize(img);
        let name = format!("pil_resized_{i}");
        assert_eq!([rh, rw, 3], pre.shape(&name));
        let expected: Vec<u8> = pre.values(&name).iter().map(|&v| v as u8).collect();
        let off = resized
            .iter()
            .zip(&expected)
            .map(|(&a, &b)| (i16::from(a) - i16::from(b)).unsigned_abs())
            .max()
            .unwrap();
        let count = resized
            .iter()
            .zip(&expected)
            .filter(|(a, b)| a != b)
            .count();
        eprintln!("image {i}: resize differs from Pillow in {count} values, by up to {off}");
        assert_eq!(resized, expected, "image {i}: uint8 resize");
    }
    // Identity where a side already has the size.
    let (w, h, data) = image(&pre, 0);
    let img = RgbImage::new(w, h, &data).unwrap();
    assert_eq!(resize_bicubic_u8(img, w, h), data);
    // Python's round: 5.5 -> 6, 4.5 -> 4.
    assert_eq!(crop_offset(43, 32), 6);
    assert_eq!(crop_offset(41, 32), 4);
    assert_eq!(crop_offset(52, 32), 10);
    assert_eq!(crop_offset(32, 32), 0);
}

#[test]
fn openclip_pixel_values_match() {
    let device = Device::flex();
    let pre = Fixture::load(PRE);
    let images: Vec<_> = (0..2).map(|i| image(&pre, i)).collect();
    let refs: Vec<RgbImage> = images
        .iter()
        .map(|(w, h, d)| RgbImage::new(*w, *h, d).unwrap())
        .collect();
    let pixels = ClipPreprocess::openai(32).batch(&refs, &device).unwrap();
    let expected = pre.values("openclip_pixel_values");
    let got = values(pixels);
    let abs = got
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("openclip pixel values: max abs error {abs:e}");
    assert!(abs <= 1e-4, "max abs error {abs}");

    // The whole path: pictures -> embeddings.
    let enc = ClipImageEncoder::from_files(
        &config(ClipActivation::Gelu),
        &files(ClipKeys::OpenClip),
        &device,
    )
    .unwrap();
    assert_close(
        enc.encode(&refs).unwrap(),
        Fixture::load(IO).values("image_embeds"),
        TOL,
        "pictures to embeddings",
    );
}

#[test]
fn bad_images_are_errors() {
    let device = Device::flex();
    let enc = ClipImageEncoder::from_files(
        &config(ClipActivation::Gelu),
        &files(ClipKeys::Transformers),
        &device,
    )
    .unwrap();
    assert!(matches!(enc.encode(&[]), Err(Error::InvalidInput(_))));
    assert!(matches!(
        RgbImage::new(0, 5, &[]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        RgbImage::new(2, 2, &[0; 11]),
        Err(Error::InvalidInput(_))
    ));
    let bad = RgbImage {
        width: 4,
        height: 4,
        data: &[1, 2, 3],
    };
    assert!(matches!(enc.encode(&[bad]), Err(Error::InvalidInput(_))));
    // A 1 x 1 picture is upscaled like any other.
    let px = [200u8, 10, 30];
    let one = RgbImage::new(1, 1, &px).unwrap();
    assert_eq!(enc.encode(&[one]).unwrap().dims(), [1, 16]);
    // Wrong tensor sizes are refused, not a panic.
    let wrong = Tensor::<4>::zeros([1, 3, 16, 16], &device);
    assert!(matches!(
        enc.vision.forward(wrong),
        Err(Error::InvalidInput(_))
    ));
    let empty = Tensor::<4>::zeros([0, 3, 32, 32], &device);
    assert!(matches!(
        enc.vision.forward(empty),
        Err(Error::InvalidInput(_))
    ));
}
