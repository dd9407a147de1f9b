//! Opening FFmpeg input and output contexts from any path.
//!
//! `ffmpeg-next` converts paths through `&str` and panics on names that are not UTF-8; Unix
//! paths are bytes, so these helpers pass the raw bytes to libavformat instead.

use std::ffi::CString;
use std::path::Path;
use std::ptr;

use ffmpeg_next::Packet;
use ffmpeg_next::ffi;
use ffmpeg_next::format::context::{Input, Output};

use crate::error::{Error, Result};

fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    CString::new(bytes).map_err(|_| Error::media(path, "path contains a NUL byte"))
}

/// Describe an FFmpeg error in words a user can act on.
pub(crate) fn describe(err: ffmpeg_next::Error) -> String {
    match err {
        ffmpeg_next::Error::InvalidData => {
            "not a readable media file (invalid data or truncated)".into()
        }
        ffmpeg_next::Error::Eof => "unexpected end of file".into(),
        ffmpeg_next::Error::DecoderNotFound => "no decoder for this codec".into(),
        ffmpeg_next::Error::EncoderNotFound => "no encoder for this codec".into(),
        ffmpeg_next::Error::StreamNotFound => "stream not found".into(),
        other => other.to_string(),
    }
}

/// Open `path` for demuxing and read its stream information.
pub(crate) fn open_input(path: &Path) -> Result<Input> {
    super::init();
    match std::fs::metadata(path) {
        Err(e) => return Err(Error::io(path, e)),
        Ok(m) if m.is_dir() => return Err(Error::media(path, "is a directory, not a media file")),
        Ok(m) if m.len() == 0 => return Err(Error::media(path, "file is empty (0 bytes)")),
        Ok(_) => {}
    }
    let cpath = c_path(path)?;
    // SAFETY: `ps` starts null, so avformat_open_input allocates the context; on failure it
    // frees it itself. On success ownership passes to `Input`, which closes it on drop.
    unsafe {
        let mut ps = ptr::null_mut();
        let rc = ffi::avformat_open_input(&mut ps, cpath.as_ptr(), ptr::null(), ptr::null_mut());
        if rc != 0 {
            return Err(Error::media(
                path,
                format!(
                    "cannot be opened as a media file: {}",
                    describe(ffmpeg_next::Error::from(rc))
                ),
            ));
        }
        let input = Input::wrap(ps);
        let rc = ffi::avformat_find_stream_info(ps, ptr::null_mut());
        if rc < 0 {
            return Err(Error::media(path, describe(ffmpeg_next::Error::from(rc))));
        }
        Ok(input)
    }
}

/// Corrupt packets in a row, with the demuxer not moving on, before the rest of a file is
/// taken as unreadable.
const STUCK_READS: u32 = 16;

/// The next packet of any stream, or `None` at the end of what can be read.
///
/// A corrupt packet is skipped as players do, as long as the demuxer moves on through the
/// file: some damaged files make it report invalid data at the same byte forever (a fuzzed
/// 9 KB MOV did), which `ffmpeg-next`'s packet iterator retries without end.
pub(crate) fn next_packet(input: &mut Input) -> Option<Packet> {
    // The position is asked for only after a failed read, off the path of good packets.
    let mut stuck = 0;
    let mut at = None;
    loop {
        // A fresh packet for every read: av_read_frame overwrites a packet without releasing
        // the buffer it holds, so reusing one leaks every packet of the file.
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => return Some(packet),
            Err(ffmpeg_next::Error::InvalidData) => {
                let now = byte_position(input);
                stuck = if now.is_some() && now != at {
                    0
                } else {
                    stuck + 1
                };
                at = now;
                if stuck >= STUCK_READS {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

/// `whence` for a seek relative to the current position (the same value on every platform).
const SEEK_CUR: i32 = 1;

/// Where the demuxer is in the file, when it reads through FFmpeg's I/O layer.
fn byte_position(input: &Input) -> Option<i64> {
    // SAFETY: the context is valid for `input`'s lifetime; `pb` is null or its open I/O
    // context, and a zero SEEK_CUR seek only reports the position.
    unsafe {
        let pb = (*input.as_ptr()).pb;
        if pb.is_null() {
            return None;
        }
        let pos = ffi::avio_seek(pb, 0, SEEK_CUR);
        (pos >= 0).then_some(pos)
    }
}

/// Create `path` for muxing with the named container format (`"mp4"`, `"mov"`, `"matroska"`).
pub(crate) fn open_output(path: &Path, format: &str) -> Result<Output> {
    super::init();
    let cpath = c_path(path)?;
    let cformat = CString::new(format).map_err(|_| Error::invalid("bad container name"))?;
    // SAFETY: on success of avformat_alloc_output_context2 the context is wrapped at once so
    // it is freed on every later error path; avio_open stores its handle in the context,
    // which `Output`'s destructor closes.
    unsafe {
        let mut ps = ptr::null_mut();
        let rc = ffi::avformat_alloc_output_context2(
            &mut ps,
            ptr::null(),
            cformat.as_ptr(),
            cpath.as_ptr(),
        );
        if rc < 0 || ps.is_null() {
            return Err(Error::media(path, describe(ffmpeg_next::Error::from(rc))));
        }
        let output = Output::wrap(ps);
        let rc = ffi::avio_open(&mut (*ps).pb, cpath.as_ptr(), ffi::AVIO_FLAG_WRITE);
        if rc < 0 {
            return Err(Error::media(path, describe(ffmpeg_next::Error::from(rc))));
        }
        Ok(output)
    }
}

/// Seconds of a timestamp in `time_base` units.
pub(crate) fn seconds(ts: i64, time_base: ffmpeg_next::Rational) -> f64 {
    ts as f64 * f64::from(time_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demuxer reports invalid data at the same byte of this damaged MOV forever (found by
    /// fuzzing); reading its packets ends after the one packet that can be read.
    #[test]
    fn reading_ends_where_the_demuxer_is_stuck() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/media/stuck_demuxer.mov");
        let mut input = open_input(&path).unwrap();
        let packets = std::iter::from_fn(|| next_packet(&mut input)).count();
        assert_eq!(packets, 1);
    }
}
