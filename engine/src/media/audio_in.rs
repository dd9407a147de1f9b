//! Decoding any audio file, or a video's audio track, to interleaved f32 at the rate and
//! channel count the caller asks for (wav, flac, mp3, ogg/vorbis, opus, aac/m4a, ...).

use std::path::Path;

use ffmpeg_next::{codec, frame, media};

use super::ffmpeg_io::{describe, next_packet, open_input};
use super::resample::Resampler;
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// How to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Output rate; `None` keeps the stream's own rate.
    pub sample_rate: Option<u32>,
    /// Output channel count; `None` keeps the stream's own count.
    pub channels: Option<u16>,
    /// Refuse inputs longer than this many seconds (protects memory from hour-long files).
    pub max_duration_s: f64,
    /// Which audio stream (container index); `None` picks the best one.
    pub stream_index: Option<usize>,
    /// Decode only this many seconds from the start and leave the rest of the file unread
    /// (a long recording's head describes it); the length limit then does not apply.
    pub head_s: Option<f64>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            sample_rate: None,
            channels: None,
            max_duration_s: 3.0 * 3600.0,
            stream_index: None,
            head_s: None,
        }
    }
}

impl DecodeOptions {
    /// Decode to `sample_rate` Hz with `channels` channels.
    pub fn to(sample_rate: u32, channels: u16) -> Self {
        Self {
            sample_rate: Some(sample_rate),
            channels: Some(channels),
            ..Self::default()
        }
    }
}

/// Decode the audio of `path`.
pub fn decode_audio(path: &Path, opts: &DecodeOptions) -> Result<AudioBuffer> {
    if !(opts.max_duration_s > 0.0) {
        return Err(Error::invalid("maximum duration must be positive"));
    }
    if opts.head_s.is_some_and(|h| !(h > 0.0)) {
        return Err(Error::invalid("the decoded head must be positive"));
    }
    let mut input = open_input(path)?;
    let stream = match opts.stream_index {
        Some(i) => input
            .stream(i)
            .filter(|s| s.parameters().medium() == media::Type::Audio)
            .ok_or_else(|| Error::media(path, format!("stream {i} is not an audio stream")))?,
        None => input
            .streams()
            .best(media::Type::Audio)
            .ok_or_else(|| Error::media(path, "has no audio stream"))?,
    };
    let index = stream.index();
    let stated = if stream.duration() > 0 {
        stream.duration() as f64 * f64::from(stream.time_base())
    } else {
        input.duration().max(0) as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    };
    if stated > opts.max_duration_s && opts.head_s.is_none() {
        return Err(too_long(path, stated, opts.max_duration_s));
    }
    let ctx = codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| Error::media(path, describe(e)))?;
    let mut decoder = ctx
        .decoder()
        .audio()
        .map_err(|e| Error::media(path, format!("cannot decode audio: {}", describe(e))))?;
    check_rate(path, decoder.rate())?;

    let mut state = Decoding {
        path,
        opts,
        resampler: None,
        source: (0, 0, 0),
        out_rate: 0,
        out_channels: 0,
        samples: Vec::new(),
        frame: frame::Audio::empty(),
    };
    while let Some(packet) = next_packet(&mut input) {
        // A packet the decoder refuses is skipped as players do.
        if packet.stream() == index && decoder.send_packet(&packet).is_ok() {
            state.drain(&mut decoder)?;
            if state.has_head() {
                return state.finish();
            }
        }
    }
    let _ = decoder.send_eof();
    state.drain(&mut decoder)?;
    state.finish()
}

/// The highest sample rate decoded (DXD's 768 kHz). A damaged header can declare gigahertz,
/// and resampling from there costs gigabytes and minutes.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

fn check_rate(path: &Path, rate: u32) -> Result<()> {
    if rate > MAX_SAMPLE_RATE {
        return Err(Error::media(
            path,
            format!("declares a sample rate of {rate} Hz; at most {MAX_SAMPLE_RATE} Hz is decoded"),
        ));
    }
    Ok(())
}

fn too_long(path: &Path, seconds: f64, max: f64) -> Error {
    Error::media(
        path,
        format!("audio is {seconds:.1} s long; the limit is {max:.1} s"),
    )
}

struct Decoding<'a> {
    path: &'a Path,
    opts: &'a DecodeOptions,
    resampler: Option<Resampler>,
    /// (format, channels, rate) the resampler was built for.
    source: (i32, u16, u32),
    out_rate: u32,
    out_channels: u16,
    samples: Vec<f32>,
    frame: frame::Audio,
}

impl Decoding<'_> {
    fn drain(&mut self, decoder: &mut ffmpeg_next::decoder::Audio) -> Result<()> {
        while decoder.receive_frame(&mut self.frame).is_ok() {
            self.push_frame()?;
        }
        Ok(())
    }

    fn push_frame(&mut self) -> Result<()> {
        let f = &self.frame;
        // SAFETY: the frame was just filled by the decoder.
        let raw = unsafe { &*f.as_ptr() };
        let key = (raw.format, f.channels(), f.rate());
        if self.resampler.is_none() || key != self.source {
            check_rate(self.path, f.rate())?;
            if let Some(mut old) = self.resampler.take() {
                old.flush(&mut self.samples)?;
            }
            if self.out_rate == 0 {
                self.out_rate = self.opts.sample_rate.unwrap_or(f.rate());
                self.out_channels = self.opts.channels.unwrap_or(f.channels());
            }
            let format: ffmpeg_next::ffi::AVSampleFormat = f.format().into();
            self.resampler = Some(
                Resampler::new(
                    format,
                    f.channels(),
                    raw.channel_layout,
                    f.rate(),
                    self.out_channels,
                    self.out_rate,
                )
                .map_err(|e| Error::media(self.path, e.to_string()))?,
            );
            self.source = key;
        }
        let rs = self.resampler.as_mut().expect("resampler exists");
        // SAFETY: extended_data holds the frame's planes for `samples` frames.
        unsafe {
            rs.push(
                raw.extended_data as *const *const u8,
                f.samples(),
                &mut self.samples,
            )?
        };
        let seconds = self.seconds();
        if seconds > self.opts.max_duration_s && self.opts.head_s.is_none() {
            return Err(too_long(self.path, seconds, self.opts.max_duration_s));
        }
        Ok(())
    }

    fn seconds(&self) -> f64 {
        self.samples.len() as f64 / (f64::from(self.out_channels) * f64::from(self.out_rate))
    }

    /// Whether the asked-for head is decoded.
    fn has_head(&self) -> bool {
        self.opts.head_s.is_some_and(|h| self.seconds() >= h)
    }

    fn finish(mut self) -> Result<AudioBuffer> {
        match self.resampler.take() {
            Some(mut rs) => rs.flush(&mut self.samples)?,
            None => {
                return Err(Error::media(
                    self.path,
                    "audio stream has no decodable samples",
                ));
            }
        }
        if let Some(head) = self.opts.head_s {
            let frames = (head * f64::from(self.out_rate)).round() as usize;
            self.samples
                .truncate(frames * usize::from(self.out_channels));
        }
        sanitize(&mut self.samples);
        Ok(AudioBuffer::new(
            self.out_rate,
            self.out_channels,
            self.samples,
        ))
    }
}

/// The largest sample magnitude kept: 60 dB over full scale, beyond any real recording.
pub const MAX_SAMPLE: f32 = 1000.0;

/// Make damaged float audio safe to compute on: samples that are not numbers (a float stream
/// holds any bit pattern, and the resampler spreads one over its filter's reach) become
/// silence, and magnitudes past [`MAX_SAMPLE`] are clamped so sums of squares stay finite.
fn sanitize(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_nan() {
            0.0
        } else {
            s.clamp(-MAX_SAMPLE, MAX_SAMPLE)
        };
    }
}
