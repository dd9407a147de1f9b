//! Muxing a soundtrack into a copy of a video: the picture's packets are copied untouched,
//! the new audio is encoded (AAC in .mp4/.m4v, 24-bit PCM in .mov/.mkv), optionally shifted
//! by whole video frames, fitted to the picture's length, and the original audio can be kept
//! as a second track.

use std::path::{Path, PathBuf};

use ffmpeg_next::{ChannelLayout, Packet, Rational, codec, encoder, format, frame, media};
use serde::Serialize;

use super::ffmpeg_io::{describe, next_packet, open_input, open_output};
use super::output::{AtomicOutput, ensure_not_source};
use super::probe::probe;
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// How to mux.
#[derive(Debug, Clone, Default)]
pub struct MuxOptions {
    /// Shift the new audio by this many video frames (positive = later).
    pub offset_frames: i64,
    /// Keep the source's first audio stream as a second, non-default track.
    pub keep_original_audio: bool,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct MuxReport {
    /// The file written.
    #[serde(serialize_with = "super::path_lossy")]
    pub path: PathBuf,
    /// Container format used.
    pub container: String,
    /// Codec of the new audio track.
    pub audio_codec: String,
    /// Audio shift applied, in samples at the audio's rate.
    pub offset_samples: i64,
    /// Duration of the new audio track in seconds (equal to the picture's).
    pub duration_s: f64,
}

/// The container and audio codec for an output file name.
fn container_for(path: &Path) -> Result<(&'static str, codec::Id)> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => Ok(("mp4", codec::Id::AAC)),
        "mov" => Ok(("mov", codec::Id::PCM_S24LE)),
        "mkv" => Ok(("matroska", codec::Id::PCM_S24LE)),
        _ => Err(Error::media(
            path,
            "unsupported output container; use .mp4, .m4v, .mov or .mkv",
        )),
    }
}

/// Mux `audio` into a copy of `video`, written atomically to `out`.
pub fn mux_audio(
    video: &Path,
    audio: &AudioBuffer,
    out: &Path,
    opts: &MuxOptions,
) -> Result<MuxReport> {
    let (container, audio_codec) = container_for(out)?;
    ensure_not_source(out, &[video])?;
    if audio.frames() == 0 {
        return Err(Error::invalid("the soundtrack to mux is empty"));
    }
    if audio.samples.iter().any(|s| !s.is_finite()) {
        return Err(Error::invalid(
            "the soundtrack contains NaN or infinite samples",
        ));
    }
    let info = probe(video)?;
    let vinfo = info.require_video()?.clone();
    let rate = audio.sample_rate;
    let offset_samples = if vinfo.fps > 0.0 {
        (opts.offset_frames as f64 * f64::from(rate) / vinfo.fps).round() as i64
    } else {
        0
    };
    let track = fit_to_picture(audio, offset_samples, vinfo.duration_s);

    let tmp = AtomicOutput::new(out)?;
    let err = |m: String| Error::media(out, m);
    let mut ictx = open_input(video)?;
    let mut octx = open_output(tmp.temp_path(), container)?;

    // Stream map: input index -> output index, for the copied streams.
    let mut map: Vec<Option<usize>> = vec![None; ictx.nb_streams() as usize];
    let video_in = vinfo.index;
    let original_audio = if opts.keep_original_audio {
        ictx.streams().best(media::Type::Audio).map(|s| s.index())
    } else {
        None
    };
    map[video_in] = Some(copy_stream(&ictx, &mut octx, video_in, out)?);

    // The new audio track.
    let global_header = octx
        .format()
        .flags()
        .contains(format::flag::Flags::GLOBAL_HEADER);
    let codec = encoder::find(audio_codec)
        .ok_or_else(|| err(format!("no {audio_codec:?} encoder in this FFmpeg build")))?;
    let mut ost = octx.add_stream(codec).map_err(|e| err(describe(e)))?;
    let audio_out = ost.index();
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(|e| err(describe(e)))?;
    let sample_format = if audio_codec == codec::Id::AAC {
        format::Sample::F32(format::sample::Type::Planar)
    } else {
        format::Sample::I32(format::sample::Type::Packed)
    };
    enc.set_rate(rate as i32);
    enc.set_channel_layout(ChannelLayout::default(i32::from(track.channels)));
    enc.set_format(sample_format);
    enc.set_time_base((1, rate as i32));
    if audio_codec == codec::Id::AAC {
        enc.set_bit_rate(96_000 * track.channels as usize);
    }
    if global_header {
        enc.set_flags(codec::flag::Flags::GLOBAL_HEADER);
    }
    let mut enc = enc
        .open_as(codec)
        .map_err(|e| err(format!("cannot open the audio encoder: {}", describe(e))))?;
    ost.set_parameters(&enc);
    ost.set_time_base((1, rate as i32));
    // The new track is the one players pick; a kept original is the alternative.
    // SAFETY: a plain field of a stream owned by the output context.
    unsafe { (*ost.as_mut_ptr()).disposition = ffmpeg_next::ffi::AV_DISPOSITION_DEFAULT };
    if let Some(i) = original_audio {
        let o = copy_stream(&ictx, &mut octx, i, out)?;
        map[i] = Some(o);
        let s = octx.stream(o).expect("stream just added");
        // SAFETY: as above.
        unsafe { (*(s.as_ptr() as *mut ffmpeg_next::ffi::AVStream)).disposition = 0 };
    }

    octx.write_header().map_err(|e| {
        err(format!(
            "cannot write the container header: {}",
            describe(e)
        ))
    })?;
    let out_tb: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();
    let in_tb: Vec<Rational> = ictx.streams().map(|s| s.time_base()).collect();
    let video_start = ictx
        .stream(video_in)
        .map(|s| s.start_time())
        .filter(|t| *t != ffmpeg_next::ffi::AV_NOPTS_VALUE)
        .unwrap_or(0);
    let start_samples =
        (video_start as f64 * f64::from(in_tb[video_in]) * f64::from(rate)).round() as i64;

    let mut feeder = AudioFeeder::new(&track, &enc, sample_format, start_samples);
    while let Some(mut packet) = next_packet(&mut ictx) {
        let i = packet.stream();
        let Some(o) = map[i] else { continue };
        // Encode the soundtrack up to this packet's time, so the file interleaves evenly.
        if let Some(ts) = packet.dts().or(packet.pts()) {
            let until = (ts as f64 * f64::from(in_tb[i]) * f64::from(rate)) as i64;
            feeder.encode_until(
                until,
                &mut enc,
                &mut octx,
                audio_out,
                out_tb[audio_out],
                out,
            )?;
        }
        packet.rescale_ts(in_tb[i], out_tb[o]);
        packet.set_stream(o);
        packet.set_position(-1);
        packet
            .write_interleaved(&mut octx)
            .map_err(|e| err(format!("cannot write a video packet: {}", describe(e))))?;
    }
    feeder.encode_until(
        i64::MAX,
        &mut enc,
        &mut octx,
        audio_out,
        out_tb[audio_out],
        out,
    )?;
    enc.send_eof().map_err(|e| err(describe(e)))?;
    drain(&mut enc, &mut octx, audio_out, out_tb[audio_out], out)?;
    octx.write_trailer()
        .map_err(|e| err(format!("cannot finish the file: {}", describe(e))))?;
    drop(octx);
    let path = tmp.commit()?;
    Ok(MuxReport {
        path,
        container: container.to_string(),
        audio_codec: audio_codec.name().to_string(),
        offset_samples,
        duration_s: track.duration_s(),
    })
}

/// Add an output stream that carries input stream `index` unchanged; returns its index.
fn copy_stream(
    ictx: &format::context::Input,
    octx: &mut format::context::Output,
    index: usize,
    out: &Path,
) -> Result<usize> {
    let ist = ictx.stream(index).expect("stream index from this file");
    let mut ost = octx
        .add_stream(encoder::find(codec::Id::None))
        .map_err(|e| Error::media(out, describe(e)))?;
    ost.set_parameters(ist.parameters());
    // SAFETY: the parameters belong to the new stream; a zero tag lets the muxer choose the
    // tag its container uses for this codec.
    unsafe { (*ost.parameters().as_mut_ptr()).codec_tag = 0 };
    ost.set_time_base(ist.time_base());
    Ok(ost.index())
}

/// Shift by `offset` samples (positive = later) and pad or trim to the picture's duration.
fn fit_to_picture(audio: &AudioBuffer, offset: i64, duration_s: f64) -> AudioBuffer {
    let ch = audio.channels as usize;
    let target = (duration_s * f64::from(audio.sample_rate)).round().max(1.0) as usize;
    let mut samples = vec![0.0f32; target * ch];
    let (src_start, dst_start) = if offset >= 0 {
        (0usize, offset as usize)
    } else {
        ((-offset) as usize, 0usize)
    };
    let n = audio
        .frames()
        .saturating_sub(src_start)
        .min(target.saturating_sub(dst_start));
    if n > 0 {
        samples[dst_start * ch..(dst_start + n) * ch]
            .copy_from_slice(&audio.samples[src_start * ch..(src_start + n) * ch]);
    }
    AudioBuffer::new(audio.sample_rate, audio.channels, samples)
}

/// Cuts the soundtrack into encoder frames and sends them with sample-accurate timestamps.
struct AudioFeeder<'a> {
    track: &'a AudioBuffer,
    /// Next frame (sample index) to encode.
    cursor: usize,
    frame_size: usize,
    format: format::Sample,
    layout: ChannelLayout,
    /// Timestamp (in samples) of the soundtrack's first sample: the picture's start.
    start: i64,
}

impl<'a> AudioFeeder<'a> {
    fn new(
        track: &'a AudioBuffer,
        enc: &encoder::Audio,
        format: format::Sample,
        start: i64,
    ) -> Self {
        let frame_size = match enc.frame_size() {
            0 => 1024,
            n => n as usize,
        };
        Self {
            track,
            cursor: 0,
            frame_size,
            format,
            layout: ChannelLayout::default(i32::from(track.channels)),
            start,
        }
    }

    fn encode_until(
        &mut self,
        until_samples: i64,
        enc: &mut encoder::Audio,
        octx: &mut format::context::Output,
        stream: usize,
        tb: Rational,
        out: &Path,
    ) -> Result<()> {
        let total = self.track.frames();
        while self.cursor < total && self.start + (self.cursor as i64) < until_samples {
            let n = self.frame_size.min(total - self.cursor);
            let mut frame = frame::Audio::new(self.format, n, self.layout);
            frame.set_rate(self.track.sample_rate);
            self.fill(&mut frame, n);
            frame.set_pts(Some(self.start + self.cursor as i64));
            enc.send_frame(&frame).map_err(|e| {
                Error::media(out, format!("audio encoding failed: {}", describe(e)))
            })?;
            drain(enc, octx, stream, tb, out)?;
            self.cursor += n;
        }
        Ok(())
    }

    fn fill(&self, frame: &mut frame::Audio, n: usize) {
        let ch = self.track.channels as usize;
        let src = &self.track.samples[self.cursor * ch..(self.cursor + n) * ch];
        if frame.is_planar() {
            for c in 0..ch {
                let plane = frame.data_mut(c);
                for (i, s) in src.iter().skip(c).step_by(ch).enumerate() {
                    plane[i * 4..i * 4 + 4].copy_from_slice(&s.to_le_bytes());
                }
            }
        } else {
            let plane = frame.data_mut(0);
            for (i, s) in src.iter().enumerate() {
                let v = (f64::from(*s) * 2_147_483_648.0)
                    .round()
                    .clamp(-2_147_483_648.0, 2_147_483_647.0) as i32;
                plane[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

fn drain(
    enc: &mut encoder::Audio,
    octx: &mut format::context::Output,
    stream: usize,
    tb: Rational,
    out: &Path,
) -> Result<()> {
    let mut packet = Packet::empty();
    while enc.receive_packet(&mut packet).is_ok() {
        packet.set_stream(stream);
        packet.rescale_ts(enc.time_base(), tb);
        packet.write_interleaved(octx).map_err(|e| {
            Error::media(
                out,
                format!("cannot write an audio packet: {}", describe(e)),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_shifts_and_pads_to_picture() {
        let a = AudioBuffer::new(10, 1, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            fit_to_picture(&a, 2, 0.5).samples,
            vec![0.0, 0.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(
            fit_to_picture(&a, -1, 0.5).samples,
            vec![2.0, 3.0, 4.0, 0.0, 0.0]
        );
        assert_eq!(fit_to_picture(&a, 9, 0.3).samples, vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn container_follows_extension() {
        assert_eq!(container_for(Path::new("a.MP4")).unwrap().1, codec::Id::AAC);
        assert_eq!(container_for(Path::new("a.mkv")).unwrap().0, "matroska");
        assert!(container_for(Path::new("a.avi")).is_err());
    }
}
