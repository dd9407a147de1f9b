//! Sample-rate, sample-format and channel conversion through libswresample, into interleaved
//! f32. Mono sources are copied to every output channel (dual mono, no pan law) and mono
//! outputs average the inputs, so a round trip keeps the level; other layouts use
//! libswresample's standard down-mix, normalised so it cannot clip.

use std::ffi::CString;
use std::ptr;

use ffmpeg_next::ffi;

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// An open libswresample context converting to packed f32 at a fixed rate and channel count.
pub(crate) struct Resampler {
    ctx: *mut ffi::SwrContext,
    out_channels: u16,
}

// SAFETY: the context is owned exclusively and only used through `&mut self`.
unsafe impl Send for Resampler {}

/// The channel layout for `channels` channels: the stream's own mask when it agrees with the
/// count, else FFmpeg's default layout for that count.
fn layout(channels: u16, mask: u64) -> ffi::AVChannelLayout {
    // SAFETY: a zeroed AVChannelLayout is the documented "unspecified" state; both
    // initialisers fill it completely (native order layouts own no heap memory).
    unsafe {
        let mut l: ffi::AVChannelLayout = std::mem::zeroed();
        if mask == 0
            || mask.count_ones() != u32::from(channels)
            || ffi::av_channel_layout_from_mask(&mut l, mask) < 0
        {
            ffi::av_channel_layout_default(&mut l, i32::from(channels));
        }
        l
    }
}

impl Resampler {
    /// Convert from (`in_format`, `in_channels` with layout bits `in_layout` (0 = default),
    /// `in_rate`) to packed f32 with `out_channels` at `out_rate`.
    pub(crate) fn new(
        in_format: ffi::AVSampleFormat,
        in_channels: u16,
        in_layout: u64,
        in_rate: u32,
        out_channels: u16,
        out_rate: u32,
    ) -> Result<Self> {
        if in_channels == 0 || out_channels == 0 || in_rate == 0 || out_rate == 0 {
            return Err(Error::invalid(format!(
                "cannot resample {in_channels} ch @ {in_rate} Hz to {out_channels} ch @ {out_rate} Hz"
            )));
        }
        // SAFETY: swr_alloc_set_opts2 allocates a fresh context (null first argument); every
        // error path below frees it through Drop.
        unsafe {
            let mut ctx = ptr::null_mut();
            let (mut out_layout, mut in_layout) =
                (layout(out_channels, 0), layout(in_channels, in_layout));
            let rc = ffi::swr_alloc_set_opts2(
                &mut ctx,
                &mut out_layout,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                out_rate as i32,
                &mut in_layout,
                in_format,
                in_rate as i32,
                0,
                ptr::null_mut(),
            );
            if rc < 0 || ctx.is_null() {
                return Err(Error::invalid("cannot allocate an audio resampler"));
            }
            let this = Self { ctx, out_channels };
            let name = CString::new("rematrix_maxval").expect("static name");
            ffi::av_opt_set_double(ctx as *mut _, name.as_ptr(), 1.0, 0);
            if in_channels == 1 || out_channels == 1 {
                let weight = 1.0 / f64::from(in_channels);
                let matrix = vec![weight; usize::from(in_channels) * usize::from(out_channels)];
                if ffi::swr_set_matrix(ctx, matrix.as_ptr(), i32::from(in_channels)) < 0 {
                    return Err(Error::invalid("cannot set the channel mix"));
                }
            }
            let rc = ffi::swr_init(ctx);
            if rc < 0 {
                return Err(Error::invalid(format!(
                    "cannot convert audio: {}",
                    ffmpeg_next::Error::from(rc)
                )));
            }
            Ok(this)
        }
    }

    /// Convert `in_samples` frames at `planes` (one pointer for packed input, one per channel
    /// for planar) and append the output to `out`. Null `planes` flushes the delay line.
    ///
    /// # Safety
    /// `planes` must point to valid sample data of the input format for `in_samples` frames.
    pub(crate) unsafe fn push(
        &mut self,
        planes: *const *const u8,
        in_samples: usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        // SAFETY: capacity for the maximum output is reserved before swr_convert writes it,
        // and only the frames it reports as written are exposed.
        unsafe {
            let max_out =
                ffi::swr_get_out_samples(self.ctx, in_samples as i32).max(0) as usize + 32;
            let ch = self.out_channels as usize;
            out.reserve(max_out * ch);
            let start = out.len();
            let mut dst = out.as_mut_ptr().add(start) as *mut u8;
            let written = ffi::swr_convert(
                self.ctx,
                &mut dst,
                max_out as i32,
                planes as *mut *const u8,
                in_samples as i32,
            );
            if written < 0 {
                return Err(Error::invalid(format!(
                    "audio conversion failed: {}",
                    ffmpeg_next::Error::from(written)
                )));
            }
            out.set_len(start + written as usize * ch);
        }
        Ok(())
    }

    /// Drain the resampler's internal delay into `out`.
    pub(crate) fn flush(&mut self, out: &mut Vec<f32>) -> Result<()> {
        loop {
            let before = out.len();
            // SAFETY: a null input drains the context.
            unsafe { self.push(ptr::null(), 0, out)? };
            if out.len() == before {
                return Ok(());
            }
        }
    }
}

impl Drop for Resampler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by swr_alloc_set_opts and is freed once.
        unsafe { ffi::swr_free(&mut self.ctx) };
    }
}

/// Resample `audio` to `sample_rate` and `channels` (libswresample's default windowed-sinc
/// filter). The output length is `round(frames * out_rate / in_rate)`.
pub fn resample(audio: &AudioBuffer, sample_rate: u32, channels: u16) -> Result<AudioBuffer> {
    if audio.sample_rate == sample_rate && audio.channels == channels {
        return Ok(audio.clone());
    }
    super::init();
    let mut rs = Resampler::new(
        ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
        audio.channels,
        0,
        audio.sample_rate,
        channels,
        sample_rate,
    )?;
    let expected = (audio.frames() as u64 * u64::from(sample_rate)
        + u64::from(audio.sample_rate) / 2)
        / u64::from(audio.sample_rate);
    let mut out = Vec::with_capacity(expected as usize * channels as usize + 64);
    let plane = audio.samples.as_ptr() as *const u8;
    // SAFETY: one packed plane of `frames` interleaved f32 frames.
    unsafe { rs.push(&plane, audio.frames(), &mut out)? };
    rs.flush(&mut out)?;
    out.resize(expected as usize * channels as usize, 0.0);
    Ok(AudioBuffer::new(sample_rate, channels, out))
}
