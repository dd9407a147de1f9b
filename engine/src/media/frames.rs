//! Video frames as the model and the editor see them: the picture shown at a time `t` (the last
//! frame whose timestamp is `<= t`), resized to RGB, found by timestamps so variable frame rate
//! needs no special case. Several times are served in one forward decoding pass.

use std::path::{Path, PathBuf};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, Rational, codec, decoder, frame, media};

use super::ffmpeg_io::{describe, next_packet, open_input, seconds};
use crate::error::{Error, Result};

/// Forward distance (seconds) up to which decoding on is cheaper than seeking.
const NO_SEEK_WINDOW_S: f64 = 2.0;
/// Tolerance for a frame timestamp that equals a requested time up to rounding.
const TIME_EPS_S: f64 = 1e-6;

/// An RGB picture: rows of `width * 3` bytes, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Presentation time of the decoded frame in seconds from the first frame.
    pub pts_s: f64,
    /// Packed RGB24 pixels, `width * height * 3` bytes.
    pub data: Vec<u8>,
}

/// `n` times spaced uniformly over `[start, end)`: `start + i * (end - start) / n`.
pub fn uniform_times(start_s: f64, end_s: f64, n: usize) -> Vec<f64> {
    let step = (end_s - start_s) / n.max(1) as f64;
    (0..n).map(|i| start_s + i as f64 * step).collect()
}

/// A decoder positioned in one video file; keeps its place so that nearby later times (playback,
/// scrubbing forward) decode on instead of seeking.
pub struct VideoReader {
    path: PathBuf,
    input: ffmpeg_next::format::context::Input,
    stream_index: usize,
    time_base: Rational,
    /// Timestamp (stream ticks) of the first frame: time zero for callers.
    origin: i64,
    rotation_deg: u32,
    decoder: decoder::Video,
    scaler: Option<scaling::Context>,
    scaled: frame::Video,
    /// The last frame delivered with pts <= the latest requested time.
    held: frame::Video,
    held_pts: Option<f64>,
    /// A decoded frame not yet consumed (its pts is past the latest requested time).
    ahead: frame::Video,
    ahead_pts: Option<f64>,
    eof: bool,
    /// Nothing read since opening: the input is at its start, so a picture file that cannot
    /// seek (a JPEG) can still give its first frame.
    untouched: bool,
}

/// Widest or tallest picture decoded: 8K (8192 x 4320 DCI) fits; a 16K picture would take
/// over a gigabyte per decoded frame.
pub const MAX_PICTURE_SIDE: u32 = 8192;

impl VideoReader {
    /// Open the first video stream of `path`, refusing pictures over [`MAX_PICTURE_SIDE`].
    pub fn open(path: &Path) -> Result<Self> {
        let input = open_input(path)?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| Error::media(path, "has no video stream"))?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let origin = match stream.start_time() {
            ffmpeg_next::ffi::AV_NOPTS_VALUE => 0,
            t => t,
        };
        let rotation_deg = super::probe::rotation_of(&stream);
        let mut ctx = codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| Error::media(path, describe(e)))?;
        // Slice threads, not frame threads: with frame threads the decoder's report of a
        // damaged picture (used to refuse a bad starting keyframe) depends on timing.
        ctx.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Slice,
            count: 0,
            ..Default::default()
        });
        let decoder = ctx
            .decoder()
            .video()
            .map_err(|e| Error::media(path, format!("cannot decode video: {}", describe(e))))?;
        let (w, h) = (decoder.width(), decoder.height());
        if w > MAX_PICTURE_SIDE || h > MAX_PICTURE_SIDE {
            return Err(Error::media(
                path,
                format!(
                    "the picture is {w} x {h}; the limit is {MAX_PICTURE_SIDE} pixels a side \
                     (8K); make a proxy at a smaller size"
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            input,
            stream_index,
            time_base,
            origin,
            rotation_deg,
            decoder,
            scaler: None,
            scaled: frame::Video::empty(),
            held: frame::Video::empty(),
            held_pts: None,
            ahead: frame::Video::empty(),
            ahead_pts: None,
            eof: false,
            untouched: true,
        })
    }

    /// The picture shown at `t_s` seconds, resized to `width x height` (display orientation).
    pub fn frame_at(&mut self, t_s: f64, width: u32, height: u32) -> Result<RgbFrame> {
        let mut frames = self.frames_at(&[t_s], width, height)?;
        Ok(frames.remove(0))
    }

    /// The pictures shown at each of `times_s` (ascending), in one forward pass.
    pub fn frames_at(&mut self, times_s: &[f64], width: u32, height: u32) -> Result<Vec<RgbFrame>> {
        if times_s.is_empty() {
            return Err(Error::invalid("no frame times requested (0 frames)"));
        }
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(Error::invalid(format!(
                "frame size {width}x{height} is out of range"
            )));
        }
        if times_s.iter().any(|t| !t.is_finite()) || times_s.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::invalid("frame times must be finite and ascending"));
        }
        let first = times_s[0].max(0.0);
        let positioned = self
            .held_pts
            .is_some_and(|p| p <= first && first - p < NO_SEEK_WINDOW_S);
        if !positioned {
            self.seek(first)?;
        }

        let mut out: Vec<RgbFrame> = Vec::with_capacity(times_s.len());
        for &t in times_s {
            self.advance_to(t)?;
            let use_held = self.held_pts.is_some();
            let pts = if use_held {
                self.held_pts
            } else {
                self.ahead_pts
            };
            let Some(pts) = pts else {
                return Err(Error::media(&self.path, "no decodable video frames"));
            };
            if let Some(prev) = out.last().filter(|f| f.pts_s == pts) {
                let again = prev.clone();
                out.push(again);
                continue;
            }
            let source = if use_held { &self.held } else { &self.ahead };
            let data = convert(
                &self.path,
                &mut self.scaler,
                &mut self.scaled,
                source,
                width,
                height,
                self.rotation_deg,
            )?;
            out.push(RgbFrame {
                width,
                height,
                pts_s: pts,
                data,
            });
        }
        Ok(out)
    }

    /// Position the decoder so that the next frames decoded lead up to `t_s`. Demuxers may
    /// land on a frame that is not a keyframe, and decoding from there gives broken pictures
    /// until the next keyframe, so decoding starts at the first keyframe packet found; when
    /// that lies after `t_s`, the seek backs off further (1, 3, 10, 30 s, then the start).
    fn seek(&mut self, t_s: f64) -> Result<()> {
        self.held_pts = None;
        self.ahead_pts = None;
        self.eof = false;
        let origin_s = seconds(self.origin, self.time_base);
        let at_start = std::mem::replace(&mut self.untouched, false);
        for back in [0.0, 1.0, 3.0, 10.0, 30.0, f64::INFINITY] {
            let target = (t_s - back).max(0.0);
            let ts = ((target + origin_s) * f64::from(ffmpeg_next::ffi::AV_TIME_BASE)) as i64;
            // Seeking to the very start is done too: the reader may be anywhere, unless it
            // has read nothing yet.
            if !(at_start && target <= 0.0) {
                self.input
                    .seek(ts, ..ts)
                    .or_else(|_| self.input.seek(i64::MIN, ..))
                    .map_err(|e| {
                        Error::media(&self.path, format!("cannot seek: {}", describe(e)))
                    })?;
            }
            self.decoder.flush();
            match self.first_key_packet() {
                Some(packet) => {
                    let at = packet
                        .pts()
                        .or(packet.dts())
                        .map(|p| seconds(p - self.origin, self.time_base));
                    if target <= 0.0 || at.is_none_or(|a| a <= t_s + TIME_EPS_S) {
                        let _ = self.decoder.send_packet(&packet);
                        // A keyframe flag the decoder cannot start from (the first picture
                        // comes out damaged) is not a place to start either.
                        self.ahead_pts = self.decode_next()?;
                        self.eof = self.ahead_pts.is_none();
                        if target <= 0.0 || !damaged(&self.ahead) {
                            return Ok(());
                        }
                        self.ahead_pts = None;
                        self.eof = false;
                    }
                }
                None if target <= 0.0 => break,
                None => {}
            }
        }
        // No keyframe flags at all: decode from the start as the packets come.
        self.input
            .seek(i64::MIN, ..)
            .map_err(|e| Error::media(&self.path, format!("cannot seek: {}", describe(e))))?;
        self.decoder.flush();
        Ok(())
    }

    /// The next keyframe packet of the video stream, skipping what comes before it.
    fn first_key_packet(&mut self) -> Option<Packet> {
        std::iter::from_fn(|| next_packet(&mut self.input))
            .find(|p| p.stream() == self.stream_index && p.is_key())
    }

    /// Consume decoded frames until the next one would be later than `t_s`.
    fn advance_to(&mut self, t_s: f64) -> Result<()> {
        loop {
            if self.ahead_pts.is_none() && !self.eof {
                self.ahead_pts = self.decode_next()?;
                self.eof = self.ahead_pts.is_none();
            }
            match self.ahead_pts {
                Some(p) if p <= t_s + TIME_EPS_S => {
                    std::mem::swap(&mut self.held, &mut self.ahead);
                    self.held_pts = Some(p);
                    self.ahead_pts = None;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Decode the next frame into `ahead`; `None` at the end of the stream.
    fn decode_next(&mut self) -> Result<Option<f64>> {
        loop {
            match self.decoder.receive_frame(&mut self.ahead) {
                Ok(()) => {
                    let ts = self
                        .ahead
                        .timestamp()
                        .or(self.ahead.pts())
                        .unwrap_or(self.origin);
                    return Ok(Some(seconds(ts - self.origin, self.time_base)));
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(None),
                Err(ffmpeg_next::Error::Other { errno })
                    if errno == ffmpeg_next::util::error::EAGAIN => {}
                Err(e) => {
                    return Err(Error::media(
                        &self.path,
                        format!("video decoding failed: {}", describe(e)),
                    ));
                }
            }
            self.feed_packet()?;
        }
    }

    /// Send the next packet of the video stream to the decoder, or end-of-stream.
    fn feed_packet(&mut self) -> Result<()> {
        match std::iter::from_fn(|| next_packet(&mut self.input))
            .find(|p| p.stream() == self.stream_index)
        {
            // A packet the decoder refuses is skipped as players do; the next keyframe recovers.
            Some(packet) => {
                let _ = self.decoder.send_packet(&packet);
            }
            // End of file, or a truncated file: flush what was decoded so far.
            None => {
                let _ = self.decoder.send_eof();
            }
        }
        Ok(())
    }
}

/// Scale (and rotate to display orientation) one decoded frame into packed RGB24.
fn convert(
    path: &Path,
    scaler: &mut Option<scaling::Context>,
    scaled: &mut frame::Video,
    source: &frame::Video,
    width: u32,
    height: u32,
    rotation_deg: u32,
) -> Result<Vec<u8>> {
    let quarter_turn = rotation_deg % 180 == 90;
    let (sw, sh) = if quarter_turn {
        (height, width)
    } else {
        (width, height)
    };
    let stale = scaler.as_ref().is_none_or(|s| {
        s.input().format != source.format()
            || s.input().width != source.width()
            || s.input().height != source.height()
            || s.output().width != sw
            || s.output().height != sh
    });
    if stale {
        *scaler = Some(
            scaling::Context::get(
                source.format(),
                source.width(),
                source.height(),
                Pixel::RGB24,
                sw,
                sh,
                scaling::Flags::BICUBIC
                    | scaling::Flags::ACCURATE_RND
                    | scaling::Flags::FULL_CHR_H_INT,
            )
            .map_err(|e| Error::media(path, format!("cannot scale frames: {}", describe(e))))?,
        );
        *scaled = frame::Video::empty();
    }
    let sws = scaler.as_mut().expect("scaler was just created");
    sws.run(source, scaled)
        .map_err(|e| Error::media(path, format!("cannot scale frame: {}", describe(e))))?;
    let row = sw as usize * 3;
    let stride = scaled.stride(0);
    let plane = scaled.data(0);
    let mut packed = Vec::with_capacity(row * sh as usize);
    for y in 0..sh as usize {
        packed.extend_from_slice(&plane[y * stride..y * stride + row]);
    }
    Ok(match rotation_deg {
        0 => packed,
        deg => rotate_rgb(&packed, sw as usize, sh as usize, deg),
    })
}

/// Rotate a packed RGB24 image clockwise by 90, 180 or 270 degrees.
fn rotate_rgb(src: &[u8], w: usize, h: usize, deg: u32) -> Vec<u8> {
    let mut dst = vec![0u8; src.len()];
    for y in 0..h {
        for x in 0..w {
            let (dx, dy, dw) = match deg {
                90 => (h - 1 - y, x, h),
                180 => (w - 1 - x, h - 1 - y, w),
                _ => (y, w - 1 - x, h),
            };
            let s = (y * w + x) * 3;
            let d = (dy * dw + dx) * 3;
            dst[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    dst
}

/// Whether the decoder reported errors in `frame` (concealed macroblocks, missing references).
fn damaged(frame: &frame::Video) -> bool {
    // SAFETY: reading two plain fields of a valid, decoded AVFrame.
    let (errors, flags) = unsafe {
        let f = frame.as_ptr();
        ((*f).decode_error_flags, (*f).flags)
    };
    errors != 0 || i64::from(flags) & i64::from(ffmpeg_next::ffi::AV_FRAME_FLAG_CORRUPT) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_times_cover_half_open_range() {
        assert_eq!(uniform_times(1.0, 3.0, 4), vec![1.0, 1.5, 2.0, 2.5]);
        assert!(uniform_times(0.0, 1.0, 0).is_empty());
    }

    #[test]
    fn rotation_moves_corners_clockwise() {
        // 2x1 image: red, green. After 90 deg clockwise it is 1x2: red on top.
        let src = [255, 0, 0, 0, 255, 0];
        assert_eq!(rotate_rgb(&src, 2, 1, 90), vec![255, 0, 0, 0, 255, 0]);
        assert_eq!(rotate_rgb(&src, 2, 1, 180), vec![0, 255, 0, 255, 0, 0]);
        assert_eq!(rotate_rgb(&src, 2, 1, 270), vec![0, 255, 0, 255, 0, 0]);
    }
}
