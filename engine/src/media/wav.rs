//! WAV export: PCM 16/24-bit and 32-bit float, with an optional Broadcast Wave `bext` chunk
//! (EBU Tech 3285 v2) whose TimeReference places the sound on the picture's timeline.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::output::write_atomic;
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// Sample encoding of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WavFormat {
    /// 16-bit integer PCM, TPDF-dithered.
    Pcm16,
    /// 24-bit integer PCM (the post-production default).
    Pcm24,
    /// 32-bit IEEE float.
    Float32,
}

impl WavFormat {
    fn bytes_per_sample(self) -> usize {
        match self {
            Self::Pcm16 => 2,
            Self::Pcm24 => 3,
            Self::Float32 => 4,
        }
    }
}

/// Broadcast Wave metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bext {
    /// Free text, at most 256 bytes.
    pub description: String,
    /// Originating application or person, at most 32 bytes.
    pub originator: String,
    /// Originator's reference, at most 32 bytes.
    pub originator_reference: String,
    /// Sample offset of the first sample from midnight (or from the project's zero): where
    /// an editor places the file on its timeline.
    pub time_reference: u64,
    /// Integrated loudness in LUFS, if measured.
    pub loudness_lufs: Option<f64>,
    /// Maximum true peak in dBTP, if measured.
    pub true_peak_dbtp: Option<f64>,
}

/// How to write a WAV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WavSpec {
    /// Sample encoding.
    pub format: WavFormat,
    /// Optional Broadcast Wave chunk.
    pub bext: Option<Bext>,
}

impl Default for WavSpec {
    fn default() -> Self {
        Self {
            format: WavFormat::Pcm24,
            bext: None,
        }
    }
}

/// Write `audio` to `path` (atomically) as WAV.
pub fn write_wav(path: &Path, audio: &AudioBuffer, spec: &WavSpec) -> Result<PathBuf> {
    if audio.channels == 0 || audio.sample_rate == 0 {
        return Err(Error::invalid("audio has no channels or no sample rate"));
    }
    if audio.samples.iter().any(|s| !s.is_finite()) {
        return Err(Error::invalid("audio contains NaN or infinite samples"));
    }
    let bytes = bytes_of(audio, spec.format);
    let riff_len = 4 + 8 + 16 + 8 + bytes.len() + bytes.len() % 2 + 602 + 8 + 12;
    if riff_len > u32::MAX as usize {
        return Err(Error::media(
            path,
            "audio too long for a WAV file (over 4 GiB)",
        ));
    }
    write_atomic(path, |w| write_chunks(w, audio, spec, &bytes))
}

fn write_chunks(
    w: &mut dyn Write,
    audio: &AudioBuffer,
    spec: &WavSpec,
    data: &[u8],
) -> std::io::Result<()> {
    let bext = spec.bext.as_ref().map(bext_payload);
    let float = spec.format == WavFormat::Float32;
    let chunk = |len: usize| 8 + len + len % 2;
    let fmt_len = if float { 18 } else { 16 };
    let riff_len = 4
        + bext.as_ref().map_or(0, |b| chunk(b.len()))
        + chunk(fmt_len)
        + if float { chunk(4) } else { 0 }
        + chunk(data.len());
    w.write_all(b"RIFF")?;
    w.write_all(&(riff_len as u32).to_le_bytes())?;
    w.write_all(b"WAVE")?;
    if let Some(b) = &bext {
        write_chunk(w, b"bext", b)?;
    }
    let bps = spec.format.bytes_per_sample();
    let block_align = bps * audio.channels as usize;
    let mut fmt = Vec::with_capacity(fmt_len);
    fmt.extend_from_slice(&(if float { 3u16 } else { 1u16 }).to_le_bytes());
    fmt.extend_from_slice(&audio.channels.to_le_bytes());
    fmt.extend_from_slice(&audio.sample_rate.to_le_bytes());
    fmt.extend_from_slice(&((audio.sample_rate as usize * block_align) as u32).to_le_bytes());
    fmt.extend_from_slice(&(block_align as u16).to_le_bytes());
    fmt.extend_from_slice(&((bps * 8) as u16).to_le_bytes());
    if float {
        fmt.extend_from_slice(&0u16.to_le_bytes());
    }
    write_chunk(w, b"fmt ", &fmt)?;
    if float {
        write_chunk(w, b"fact", &(audio.frames() as u32).to_le_bytes())?;
    }
    write_chunk(w, b"data", data)
}

fn write_chunk(w: &mut dyn Write, id: &[u8; 4], payload: &[u8]) -> std::io::Result<()> {
    w.write_all(id)?;
    w.write_all(&(payload.len() as u32).to_le_bytes())?;
    w.write_all(payload)?;
    if payload.len() % 2 == 1 {
        w.write_all(&[0])?;
    }
    Ok(())
}

fn bytes_of(audio: &AudioBuffer, format: WavFormat) -> Vec<u8> {
    let mut out = Vec::with_capacity(audio.samples.len() * format.bytes_per_sample());
    match format {
        WavFormat::Float32 => {
            for s in &audio.samples {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        WavFormat::Pcm24 => {
            for s in &audio.samples {
                let v = (f64::from(*s) * 8_388_608.0)
                    .round()
                    .clamp(-8_388_608.0, 8_388_607.0) as i32;
                out.extend_from_slice(&v.to_le_bytes()[..3]);
            }
        }
        WavFormat::Pcm16 => {
            // Triangular dither of +-1 LSB from a fixed-seed generator: reproducible files
            // without the distortion of plain truncation at 16 bits.
            let mut seed = 0x2545_F491_4F6C_DD1Du64;
            let mut uniform = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 11) as f64 / (1u64 << 53) as f64
            };
            for s in &audio.samples {
                let tpdf = uniform() - uniform();
                let v = (f64::from(*s) * 32_768.0 + tpdf)
                    .round()
                    .clamp(-32_768.0, 32_767.0) as i16;
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

fn fixed_field(out: &mut Vec<u8>, text: &str, len: usize) {
    let bytes = text.as_bytes();
    let n = bytes.len().min(len);
    out.extend_from_slice(&bytes[..n]);
    out.resize(out.len() + len - n, 0);
}

/// The 602-byte fixed part of a version 2 `bext` chunk (no coding history).
fn bext_payload(b: &Bext) -> Vec<u8> {
    let mut out = Vec::with_capacity(602);
    fixed_field(&mut out, &b.description, 256);
    fixed_field(&mut out, &b.originator, 32);
    fixed_field(&mut out, &b.originator_reference, 32);
    let (date, time) = utc_now_strings();
    fixed_field(&mut out, &date, 10);
    fixed_field(&mut out, &time, 8);
    out.extend_from_slice(&(b.time_reference as u32).to_le_bytes());
    out.extend_from_slice(&((b.time_reference >> 32) as u32).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.resize(out.len() + 64, 0); // UMID: none
    // Loudness fields are value x 100; 0x7FFF means "not measured".
    let centi = |v: Option<f64>| {
        v.filter(|x| x.is_finite()).map_or(0x7FFF, |x| {
            (x * 100.0).round().clamp(-32768.0, 32767.0) as i16
        })
    };
    out.extend_from_slice(&centi(b.loudness_lufs).to_le_bytes());
    out.extend_from_slice(&0x7FFFi16.to_le_bytes()); // loudness range
    out.extend_from_slice(&centi(b.true_peak_dbtp).to_le_bytes());
    out.extend_from_slice(&0x7FFFi16.to_le_bytes()); // max momentary
    out.extend_from_slice(&0x7FFFi16.to_le_bytes()); // max short-term
    out.resize(602, 0);
    out
}

/// Today's UTC date and time as `bext` wants them: "yyyy-mm-dd" and "hh:mm:ss".
fn utc_now_strings() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_chunks(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
            bytes.len() - 8
        );
        assert_eq!(&bytes[8..12], b"WAVE");
        let mut pos = 12;
        let mut out = Vec::new();
        while pos + 8 <= bytes.len() {
            let id: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            out.push((id, bytes[pos + 8..pos + 8 + len].to_vec()));
            pos += 8 + len + len % 2;
        }
        out
    }

    #[test]
    fn pcm24_with_bext_has_exact_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let audio = AudioBuffer::new(48_000, 2, vec![0.5, -0.5, 1.0, -1.0, 0.0, 0.25]);
        let bext = Bext {
            description: "hit".into(),
            originator: "AvSync Studio".into(),
            time_reference: 48_000 * 3600 + 7,
            ..Bext::default()
        };
        write_wav(
            &path,
            &audio,
            &WavSpec {
                format: WavFormat::Pcm24,
                bext: Some(bext),
            },
        )
        .unwrap();
        let chunks = read_chunks(&std::fs::read(&path).unwrap());
        let ids: Vec<_> = chunks.iter().map(|c| &c.0).collect();
        assert_eq!(ids, vec![b"bext", b"fmt ", b"data"]);
        let b = &chunks[0].1;
        assert_eq!(b.len(), 602);
        assert_eq!(&b[..3], b"hit");
        let tr = u64::from(u32::from_le_bytes(b[338..342].try_into().unwrap()))
            | u64::from(u32::from_le_bytes(b[342..346].try_into().unwrap())) << 32;
        assert_eq!(tr, 48_000 * 3600 + 7);
        let fmt = &chunks[1].1;
        assert_eq!(u16::from_le_bytes([fmt[0], fmt[1]]), 1);
        assert_eq!(u16::from_le_bytes([fmt[14], fmt[15]]), 24);
        let data = &chunks[2].1;
        assert_eq!(data.len(), 6 * 3);
        let s =
            |i: usize| i32::from_le_bytes([0, data[3 * i], data[3 * i + 1], data[3 * i + 2]]) >> 8;
        assert_eq!(s(0), 4_194_304);
        assert_eq!(s(1), -4_194_304);
        assert_eq!(s(2), 8_388_607);
        assert_eq!(s(3), -8_388_608);
    }

    #[test]
    fn float_and_16_bit_round_trip_values() {
        let dir = tempfile::tempdir().unwrap();
        let audio = AudioBuffer::new(16_000, 1, vec![0.1, -0.7, 0.0]);
        let f = dir.path().join("f.wav");
        write_wav(
            &f,
            &audio,
            &WavSpec {
                format: WavFormat::Float32,
                bext: None,
            },
        )
        .unwrap();
        let chunks = read_chunks(&std::fs::read(&f).unwrap());
        assert_eq!(chunks[1].0, *b"fact");
        let data = &chunks[2].1;
        assert_eq!(f32::from_le_bytes(data[4..8].try_into().unwrap()), -0.7);
        let p = dir.path().join("p.wav");
        write_wav(
            &p,
            &audio,
            &WavSpec {
                format: WavFormat::Pcm16,
                bext: None,
            },
        )
        .unwrap();
        let data = &read_chunks(&std::fs::read(&p).unwrap())[1].1;
        let v = i16::from_le_bytes([data[2], data[3]]);
        assert!((i32::from(v) + 22_938).abs() <= 1, "{v}");
    }

    #[test]
    fn nan_audio_is_refused_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        let audio = AudioBuffer::new(16_000, 1, vec![f32::NAN]);
        assert!(write_wav(&path, &audio, &WavSpec::default()).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
