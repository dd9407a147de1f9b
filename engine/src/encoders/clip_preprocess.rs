//! CLIP image preprocessing exactly as OpenCLIP's evaluation transform does it
//! (`image_transform(S, is_train=False)`): torchvision `Resize(S)` of a PIL image, i.e.
//! Pillow's uint8 bicubic resample of the shortest side to `S`, `CenterCrop(S)`, `ToTensor`
//! (`x / 255`) and `Normalize(mean, std)`, from packed RGB8 pixels.
//!
//! Pillow's bicubic (`libImaging/Resample.c`) is reproduced bit for bit: a separable filter
//! (a = -0.5) whose support widens with the downscaling factor (antialiasing), weights
//! normalised to sum 1 and rounded to 22-bit fixed point, the horizontal pass first with its
//! result rounded and clipped to uint8, then the vertical pass. A float resize without the
//! uint8 intermediate differs from it by several levels in a fifth of the pixels. The crop
//! offset is `round((len - S) / 2)` with Python's half-to-even rounding.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};

/// OpenAI CLIP's per-channel mean (also OpenCLIP's default, used by ViT-H/14).
pub const OPENAI_CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// OpenAI CLIP's per-channel standard deviation ((0.26862954, 0.26130258, 0.27577711) as
/// f32).
pub const OPENAI_CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];

/// A borrowed picture: `width * height` packed RGB8 pixels, rows top to bottom.
#[derive(Debug, Clone, Copy)]
pub struct RgbImage<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub data: &'a [u8],
}

impl<'a> RgbImage<'a> {
    /// A view on packed RGB8 `data`; its length must be `width * height * 3` and both sides
    /// non-zero.
    pub fn new(width: usize, height: usize, data: &'a [u8]) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::invalid(format!(
                "image is {width} x {height} pixels: nothing to encode"
            )));
        }
        if width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(data.len()) {
            return Err(Error::invalid(format!(
                "a {width} x {height} RGB image needs {} bytes, got {}",
                width.saturating_mul(height).saturating_mul(3),
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }
}

/// OpenCLIP's evaluation preprocessing to `size x size`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipPreprocess {
    /// Output side in pixels (224 for ViT-H/14).
    pub size: usize,
    /// Per-channel mean subtracted after scaling to `[0, 1]`.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
}

impl ClipPreprocess {
    /// Preprocessing to `size` with OpenAI CLIP's mean and std.
    pub fn openai(size: usize) -> Self {
        Self {
            size,
            mean: OPENAI_CLIP_MEAN,
            std: OPENAI_CLIP_STD,
        }
    }

    /// The resized `(width, height)`: the shorter side becomes `size`, the longer
    /// `int(size * long / short)` (torchvision's rule).
    pub fn resized_size(&self, width: usize, height: usize) -> (usize, usize) {
        let long = |l: usize, s: usize| (self.size as f64 * l as f64 / s as f64) as usize;
        if width <= height {
            (self.size, long(height, width))
        } else {
            (long(width, height), self.size)
        }
    }

    /// The resized image (Pillow bicubic, shortest side to `size`): `(width, height, RGB8)`.
    pub fn resize(&self, image: RgbImage<'_>) -> (usize, usize, Vec<u8>) {
        let (w, h) = self.resized_size(image.width, image.height);
        let data = resize_bicubic_u8(image, w, h);
        (w, h, data)
    }

    /// One image as normalised `[3, size, size]` values (channel-major).
    pub fn image(&self, image: RgbImage<'_>) -> Result<Vec<f32>> {
        if self.size == 0 {
            return Err(Error::invalid("preprocessing size must be positive"));
        }
        let image = RgbImage::new(image.width, image.height, image.data)?;
        let (w, h, resized) = self.resize(image);
        let s = self.size;
        let (top, left) = (crop_offset(h, s), crop_offset(w, s));
        let mut out = vec![0.0f32; 3 * s * s];
        for c in 0..3 {
            for y in 0..s {
                for x in 0..s {
                    let v = resized[((top + y) * w + left + x) * 3 + c];
                    out[(c * s + y) * s + x] = (f32::from(v) / 255.0 - self.mean[c]) / self.std[c];
                }
            }
        }
        Ok(out)
    }

    /// A batch `[B, 3, size, size]`. An empty batch or an empty or malformed image is an
    /// [`Error::InvalidInput`].
    pub fn batch(&self, images: &[RgbImage<'_>], device: &Device) -> Result<Tensor<4>> {
        if images.is_empty() {
            return Err(Error::invalid("no images to preprocess"));
        }
        let mut values = Vec::with_capacity(images.len() * 3 * self.size * self.size);
        for image in images {
            values.extend(self.image(*image)?);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [images.len(), 3, self.size, self.size]),
            device,
        ))
    }
}

/// torchvision `CenterCrop`'s offset: `round((len - size) / 2)`, halves to even (0 if the
/// image is not larger).
pub fn crop_offset(len: usize, size: usize) -> usize {
    let d = len.saturating_sub(size);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

/// Pillow's uint8 BICUBIC resize of packed RGB8 pixels to `out_w x out_h` (a side equal to the
/// input's is not resampled).
pub fn resize_bicubic_u8(image: RgbImage<'_>, out_w: usize, out_h: usize) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let mut data = image.data.to_vec();
    if out_w != w {
        let taps = coefficients(w, out_w);
        let mut out = vec![0u8; h * out_w * 3];
        for y in 0..h {
            let row = &data[y * w * 3..(y + 1) * w * 3];
            for (x, (start, k)) in taps.iter().enumerate() {
                for c in 0..3 {
                    let acc = k
                        .iter()
                        .enumerate()
                        .map(|(j, &kj)| kj * i64::from(row[(start + j) * 3 + c]))
                        .sum::<i64>();
                    out[(y * out_w + x) * 3 + c] = clip8(acc);
                }
            }
        }
        data = out;
    }
    if out_h != h {
        let taps = coefficients(h, out_h);
        let mut out = vec![0u8; out_h * out_w * 3];
        let stride = out_w * 3;
        for (y, (start, k)) in taps.iter().enumerate() {
            for i in 0..stride {
                let acc = k
                    .iter()
                    .enumerate()
                    .map(|(j, &kj)| kj * i64::from(data[(start + j) * stride + i]))
                    .sum::<i64>();
                out[y * stride + i] = clip8(acc);
            }
        }
        data = out;
    }
    data
}

/// Fixed-point precision of Pillow's 8-bit resampling.
const PRECISION_BITS: u32 = 32 - 8 - 2;

fn clip8(acc: i64) -> u8 {
    ((acc + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's bicubic kernel, a = -0.5.
fn cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Per output index: the first input index and the fixed-point weights (`precompute_coeffs`
/// and `normalize_coeffs_8bpc` of Pillow).
fn coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let ss = 1.0 / filterscale;
    (0..out_size)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            // C's (int) cast truncates towards zero, then the range is clipped to the image.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let mut w: Vec<f64> = (xmin..xmax)
                .map(|j| cubic((j as f64 - center + 0.5) * ss))
                .collect();
            let total: f64 = w.iter().sum();
            if total != 0.0 {
                w.iter_mut().for_each(|v| *v /= total);
            }
            let one = f64::from(1u32 << PRECISION_BITS);
            let k = w
                .iter()
                .map(|&v| {
                    if v < 0.0 {
                        (-0.5 + v * one) as i64
                    } else {
                        (0.5 + v * one) as i64
                    }
                })
                .collect();
            (xmin, k)
        })
        .collect()
}
