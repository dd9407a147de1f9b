//! Writing rendered pictures as a video file: FFV1 (lossless) on RGB (bgr0) in Matroska, so
//! a rendered clip decodes to the pictures that were drawn (up to the reader's conversion
//! back to RGB). Used for the synthetic evaluation
//! clips, which then go through the same decoding path as real footage.

use std::path::Path;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, Rational, codec, encoder, frame};

use super::RgbFrame;
use super::ffmpeg_io::{describe, open_output};
use super::output::AtomicOutput;
use crate::error::{Error, Result};

/// Write `frames` (all the same size) at `fps` to `path` (`.mkv`), atomically.
pub fn write_video(path: &Path, frames: &[RgbFrame], fps: u32) -> Result<()> {
    let first = frames
        .first()
        .ok_or_else(|| Error::invalid("no pictures to write"))?;
    let (w, h) = (first.width, first.height);
    let bytes = w as usize * h as usize * 3;
    if frames
        .iter()
        .any(|f| f.width != w || f.height != h || f.data.len() != bytes)
        || fps == 0
    {
        return Err(Error::invalid(
            "pictures of one video must share a size, at a positive rate",
        ));
    }
    let err = |m: String| Error::media(path, m);
    let tmp = AtomicOutput::new(path)?;
    let mut octx = open_output(tmp.temp_path(), "matroska")?;
    let codec = encoder::find(codec::Id::FFV1)
        .ok_or_else(|| err("no FFV1 encoder in this FFmpeg build".into()))?;
    let mut ost = octx.add_stream(codec).map_err(|e| err(describe(e)))?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| err(describe(e)))?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(Pixel::BGRZ);
    enc.set_time_base(Rational::new(1, fps as i32));
    enc.set_frame_rate(Some(Rational::new(fps as i32, 1)));
    let mut enc = enc
        .open_as(codec)
        .map_err(|e| err(format!("cannot open the video encoder: {}", describe(e))))?;
    ost.set_parameters(&enc);
    ost.set_time_base(Rational::new(1, fps as i32));
    ost.set_avg_frame_rate(Rational::new(fps as i32, 1));
    octx.write_header()
        .map_err(|e| err(format!("cannot write the header: {}", describe(e))))?;
    let tb = octx
        .stream(0)
        .map_or(Rational::new(1, 1000), |s| s.time_base());
    let mut scaler =
        scaling::Context::get(Pixel::RGB24, w, h, Pixel::BGRZ, w, h, scaling::Flags::POINT)
            .map_err(|e| err(describe(e)))?;
    let mut rgb = frame::Video::new(Pixel::RGB24, w, h);
    let mut yuv = frame::Video::empty();
    let mut packet = Packet::empty();
    let mut write_ready =
        |enc: &mut encoder::Video, octx: &mut ffmpeg_next::format::context::Output| -> Result<()> {
            while enc.receive_packet(&mut packet).is_ok() {
                packet.set_stream(0);
                packet.rescale_ts(Rational::new(1, fps as i32), tb);
                packet
                    .write_interleaved(octx)
                    .map_err(|e| err(format!("cannot write a packet: {}", describe(e))))?;
            }
            Ok(())
        };
    for (i, f) in frames.iter().enumerate() {
        let stride = rgb.stride(0);
        let row = w as usize * 3;
        let data = rgb.data_mut(0);
        for y in 0..h as usize {
            data[y * stride..y * stride + row].copy_from_slice(&f.data[y * row..(y + 1) * row]);
        }
        scaler.run(&rgb, &mut yuv).map_err(|e| err(describe(e)))?;
        yuv.set_pts(Some(i as i64));
        enc.send_frame(&yuv).map_err(|e| err(describe(e)))?;
        write_ready(&mut enc, &mut octx)?;
    }
    enc.send_eof().map_err(|e| err(describe(e)))?;
    write_ready(&mut enc, &mut octx)?;
    octx.write_trailer()
        .map_err(|e| err(format!("cannot finish the file: {}", describe(e))))?;
    drop(octx);
    tmp.commit()?;
    Ok(())
}
