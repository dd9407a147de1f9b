//! What a media file holds: container, duration, the video stream's timing and geometry, and
//! its audio streams. The editor's timeline and the frame sampler are built on these facts.

use std::path::{Path, PathBuf};

use ffmpeg_next::{codec, ffi, media};
use serde::Serialize;

use super::ffmpeg_io::{describe, next_packet, open_input, seconds};
use crate::error::{Error, Result};

/// A probed media file.
#[derive(Debug, Clone, Serialize)]
pub struct MediaInfo {
    /// The file that was probed.
    #[serde(serialize_with = "super::path_lossy")]
    pub path: PathBuf,
    /// Container format name(s) as FFmpeg reports them, e.g. `"mov,mp4,m4a,3gp,3g2,mj2"`.
    pub container: String,
    /// Duration of the whole file in seconds (the longest stream).
    pub duration_s: f64,
    /// File size in bytes.
    pub size_bytes: u64,
    /// The first video stream, if any (cover-art pictures are not counted as video).
    pub video: Option<VideoInfo>,
    /// Every audio stream, in file order.
    pub audio: Vec<AudioStreamInfo>,
}

/// Timing and geometry of a video stream.
#[derive(Debug, Clone, Serialize)]
pub struct VideoInfo {
    /// Stream index in the container.
    pub index: usize,
    /// Codec name, e.g. `"h264"`.
    pub codec: String,
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Pixel format name, e.g. `"yuv420p"`.
    pub pixel_format: String,
    /// Nominal frame rate as a fraction (numerator, denominator), e.g. (30000, 1001).
    pub frame_rate: (i32, i32),
    /// Nominal frame rate in frames per second.
    pub fps: f64,
    /// Average frame rate over the stream (frames / duration).
    pub avg_fps: f64,
    /// Whether every frame lasts the same time (within one timestamp tick).
    pub constant_frame_rate: bool,
    /// Number of frames (counted from the packets, not trusted from the header).
    pub frame_count: u64,
    /// Time of the first frame in seconds.
    pub start_s: f64,
    /// Duration of the stream in seconds (end of the last frame minus start).
    pub duration_s: f64,
    /// Clockwise rotation in degrees (0, 90, 180, 270) that a player applies for display.
    pub rotation_deg: u32,
}

/// An audio stream.
#[derive(Debug, Clone, Serialize)]
pub struct AudioStreamInfo {
    /// Stream index in the container.
    pub index: usize,
    /// Codec name, e.g. `"aac"`.
    pub codec: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Duration in seconds, if the container states it.
    pub duration_s: Option<f64>,
    /// Bit rate in bits per second, if known.
    pub bit_rate: Option<u64>,
}

impl MediaInfo {
    /// The video stream, or an error naming the file when it has none.
    pub fn require_video(&self) -> Result<&VideoInfo> {
        self.video
            .as_ref()
            .ok_or_else(|| Error::media(&self.path, "has no video stream"))
    }
}

/// Probe `path`. Reads every packet of the file once (no decoding) to count frames and
/// detect variable frame rate, which headers alone do not tell reliably.
pub fn probe(path: &Path) -> Result<MediaInfo> {
    let mut input = open_input(path)?;
    let size_bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let container = input.format().name().to_string();

    let video_stream = input.streams().find(|s| {
        s.parameters().medium() == media::Type::Video
            && !s
                .disposition()
                .contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC)
    });
    let video_index = video_stream.as_ref().map(|s| s.index());
    let mut video = video_stream
        .map(|s| describe_video(&s))
        .transpose()
        .map_err(|e| Error::media(path, e))?;

    let audio = input
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Audio)
        .map(|s| describe_audio(&s))
        .collect::<Vec<_>>();

    if let (Some(v), Some(vi)) = (video.as_mut(), video_index) {
        scan_video_packets(&mut input, vi, v).map_err(|e| Error::media(path, e))?;
    }

    let container_duration = if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    let duration_s = video
        .as_ref()
        .map(|v| v.start_s.max(0.0) + v.duration_s)
        .unwrap_or(0.0)
        .max(container_duration)
        .max(
            audio
                .iter()
                .filter_map(|a| a.duration_s)
                .fold(0.0, f64::max),
        );

    Ok(MediaInfo {
        path: path.to_path_buf(),
        container,
        duration_s,
        size_bytes,
        video,
        audio,
    })
}

fn codec_name(id: codec::Id) -> String {
    id.name().to_string()
}

fn describe_video(stream: &ffmpeg_next::format::stream::Stream) -> Result<VideoInfo, String> {
    let params = stream.parameters();
    let ctx = codec::context::Context::from_parameters(params.clone()).map_err(describe)?;
    let decoder = ctx.decoder().video().map_err(describe)?;
    let rate = stream.rate();
    let avg = stream.avg_frame_rate();
    let nominal = if rate.numerator() > 0 && rate.denominator() > 0 {
        rate
    } else {
        avg
    };
    if decoder.width() == 0 || decoder.height() == 0 {
        return Err(format!(
            "the video stream declares a {}x{} picture",
            decoder.width(),
            decoder.height()
        ));
    }
    let pixel_format = format!("{:?}", decoder.format()).to_lowercase();
    Ok(VideoInfo {
        index: stream.index(),
        codec: codec_name(params.id()),
        width: decoder.width(),
        height: decoder.height(),
        pixel_format,
        frame_rate: (nominal.numerator(), nominal.denominator()),
        fps: rational_or_zero(nominal),
        avg_fps: rational_or_zero(avg),
        constant_frame_rate: true,
        frame_count: 0,
        start_s: 0.0,
        duration_s: 0.0,
        rotation_deg: rotation_of(stream),
    })
}

fn rational_or_zero(r: ffmpeg_next::Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        f64::from(r)
    }
}

/// The display-matrix rotation, as the clockwise angle a player turns the picture.
pub(super) fn rotation_of(stream: &ffmpeg_next::format::stream::Stream) -> u32 {
    for side in stream.side_data() {
        if side.kind() == codec::packet::side_data::Type::DisplayMatrix && side.data().len() >= 36 {
            // SAFETY: a display matrix is nine native-endian i32 values (checked length above).
            let ccw = unsafe { ffi::av_display_rotation_get(side.data().as_ptr() as *const i32) };
            if ccw.is_finite() {
                let cw = (-ccw).rem_euclid(360.0);
                return ((cw / 90.0).round() as u32 % 4) * 90;
            }
        }
    }
    0
}

fn describe_audio(stream: &ffmpeg_next::format::stream::Stream) -> AudioStreamInfo {
    let params = stream.parameters();
    let (sample_rate, channels) = codec::context::Context::from_parameters(params.clone())
        .and_then(|c| c.decoder().audio())
        .map(|a| (a.rate(), a.channels()))
        .unwrap_or((0, 0));
    let duration_s =
        (stream.duration() > 0).then(|| seconds(stream.duration(), stream.time_base()));
    // SAFETY: codecpar is valid for the stream's lifetime.
    let bit_rate = unsafe { (*params.as_ptr()).bit_rate };
    AudioStreamInfo {
        index: stream.index(),
        codec: codec_name(params.id()),
        sample_rate,
        channels,
        duration_s,
        bit_rate: (bit_rate > 0).then_some(bit_rate as u64),
    }
}

/// Count frames and measure frame durations from the packet timestamps.
fn scan_video_packets(
    input: &mut ffmpeg_next::format::context::Input,
    index: usize,
    info: &mut VideoInfo,
) -> Result<(), String> {
    let time_base = input
        .stream(index)
        .ok_or("video stream vanished")?
        .time_base();
    let mut stamps = Vec::new();
    let mut last_duration = 0i64;
    while let Some(packet) = next_packet(input) {
        if packet.stream() != index {
            continue;
        }
        if let Some(ts) = packet.pts().or(packet.dts()) {
            stamps.push(ts);
            last_duration = packet.duration();
        }
    }
    if stamps.is_empty() {
        return Err("video stream has no frames".into());
    }
    stamps.sort_unstable();
    let deltas: Vec<i64> = stamps
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0)
        .collect();
    let (min_d, max_d) = deltas
        .iter()
        .fold((i64::MAX, 0), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    let mut sorted = deltas.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let frame_duration = if last_duration > 0 {
        last_duration
    } else {
        median
    };
    let first = stamps[0];
    let end = stamps[stamps.len() - 1] + frame_duration;

    info.frame_count = stamps.len() as u64;
    info.start_s = seconds(first, time_base);
    info.duration_s = seconds(end - first, time_base);
    // One tick of jitter is timestamp rounding (e.g. 33/34 ms at 29.97 fps in a 1 ms time base).
    info.constant_frame_rate = deltas.is_empty() || max_d - min_d <= 1 + median / 100;
    if info.duration_s > 0.0 {
        info.avg_fps = stamps.len() as f64 / info.duration_s;
    }
    if info.fps <= 0.0 {
        info.fps = info.avg_fps;
    }
    Ok(())
}
