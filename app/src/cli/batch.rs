//! `avsync batch DIR_OR_CSV --out DIR [...]`: many clips with one model load. A CSV gives
//! per-clip text, reference sound and range (`video,text,ref_audio,start,end`; only `video`
//! is required; `audio` names the real sound for `eval`; relative paths are relative to the
//! CSV). Each clip writes into its own folder; a clip whose report exists is skipped, so an
//! interrupted batch resumes where it stopped. A failing clip is recorded and the batch goes
//! on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use super::generate::{SettingsArgs, generate_clip};

/// Video extensions a folder is scanned for.
const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf"];

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// A folder of videos, or a CSV listing them.
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// One clip of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub video: PathBuf,
    pub text: Option<String>,
    pub reference: Option<PathBuf>,
    /// The real sound (evaluation), when not the video's own audio.
    pub audio: Option<PathBuf>,
    pub start: Option<f64>,
    pub end: Option<f64>,
}

/// What happened to a clip.
#[derive(Debug, Serialize)]
struct ClipStatus {
    #[serde(serialize_with = "lossy")]
    video: PathBuf,
    #[serde(serialize_with = "lossy")]
    dir: PathBuf,
    status: &'static str,
    best_score: Option<f64>,
    error: Option<String>,
}

fn lossy<S: serde::Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

pub fn run(a: &BatchArgs) -> Result<()> {
    let clips = read_clips(&a.input)?;
    if clips.is_empty() {
        bail!("{}: no video clips found", a.input.display());
    }
    a.settings.wav_format()?;
    let generator = a.settings.generator()?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut statuses = Vec::with_capacity(clips.len());
    for (i, clip) in clips.iter().enumerate() {
        let stem = clip
            .video
            .file_stem()
            .map_or_else(|| "clip".into(), |s| s.to_string_lossy().into_owned());
        let dir = a.out.join(format!("{:04}_{stem}", i + 1));
        eprintln!("[{}/{}] {}", i + 1, clips.len(), clip.video.display());
        let mut status = ClipStatus {
            video: clip.video.clone(),
            dir: dir.clone(),
            status: "done",
            best_score: None,
            error: None,
        };
        if dir.join(format!("{stem}_report.json")).is_file() {
            status.status = "skipped (already done)";
        } else {
            let text = clip.text.as_deref().unwrap_or(&a.settings.text);
            let reference = clip
                .reference
                .as_deref()
                .or(a.settings.ref_audio.as_deref());
            let request =
                a.settings
                    .request_with(&clip.video, clip.start, clip.end, text, reference);
            match request
                .validate()
                .map_err(anyhow::Error::from)
                .and_then(|()| generate_clip(&generator, &request, &a.settings, &dir, true))
            {
                Ok(out) => status.best_score = out.report.candidates.first().map(|c| c.score),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    status.status = "failed";
                    status.error = Some(format!("{e:#}"));
                }
            }
        }
        statuses.push(status);
        let json = serde_json::to_vec_pretty(&statuses)?;
        avsync_engine::media::output::write_atomic(&a.out.join("batch_report.json"), |w| {
            w.write_all(&json)
        })?;
    }
    let failed = statuses.iter().filter(|s| s.status == "failed").count();
    println!(
        "{}",
        serde_json::json!({
            "clips": statuses.len(),
            "failed": failed,
            "report": a.out.join("batch_report.json").to_string_lossy(),
        })
    );
    if failed > 0 {
        bail!(
            "{failed} of {} clips failed (see batch_report.json)",
            statuses.len()
        );
    }
    Ok(())
}

/// The clips of a folder of videos or of a CSV.
pub fn read_clips(input: &Path) -> Result<Vec<Clip>> {
    if input.is_dir() {
        scan(input)
    } else {
        read_csv(input)
    }
}

/// The videos of a folder, sorted by name.
fn scan(dir: &Path) -> Result<Vec<Clip>> {
    let mut videos: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    videos.sort();
    Ok(videos
        .into_iter()
        .map(|video| Clip {
            video,
            text: None,
            reference: None,
            audio: None,
            start: None,
            end: None,
        })
        .collect())
}

/// Clips listed in a CSV with a header row.
fn read_csv(path: &Path) -> Result<Vec<Clip>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rows = parse_csv(&text).with_context(|| format!("{}", path.display()))?;
    if rows.is_empty() {
        bail!("{}: empty CSV", path.display());
    }
    let header: Vec<String> = rows
        .remove(0)
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let Some(video_col) = col("video") else {
        bail!("{}: the header has no `video` column", path.display());
    };
    let (text_col, ref_col, audio_col) = (col("text"), col("ref_audio"), col("audio"));
    let (start_col, end_col) = (col("start"), col("end"));
    let resolve = |p: &str| {
        let p = PathBuf::from(p.trim());
        if p.is_absolute() { p } else { base.join(p) }
    };
    let mut clips = Vec::with_capacity(rows.len());
    for (line, row) in rows.iter().enumerate() {
        let field = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let number = |c: Option<usize>, name: &str| -> Result<Option<f64>> {
            field(c)
                .map(|s| {
                    s.parse::<f64>().with_context(|| {
                        format!(
                            "{}: row {}: `{name}` is not a number",
                            path.display(),
                            line + 2
                        )
                    })
                })
                .transpose()
        };
        let Some(video) = field(Some(video_col)) else {
            continue;
        };
        clips.push(Clip {
            video: resolve(video),
            text: field(text_col).map(str::to_string),
            reference: field(ref_col).map(resolve),
            audio: field(audio_col).map(resolve),
            start: number(start_col, "start")?,
            end: number(end_col, "end")?,
        });
    }
    Ok(clips)
}

/// RFC 4180 fields: commas, double-quoted fields with `""` escapes, CRLF or LF rows.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            (c, _) => field.push(c),
        }
    }
    if quoted {
        bail!("unterminated quoted field");
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_quotes_and_rows() {
        let rows =
            parse_csv("video,text\r\na.mp4,\"steps, on \"\"gravel\"\"\"\n\nb.mp4,\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["video".to_string(), "text".into()],
                vec!["a.mp4".into(), "steps, on \"gravel\"".into()],
                vec!["b.mp4".into(), String::new()],
            ]
        );
        assert!(parse_csv("a,\"b").is_err());
    }

    #[test]
    fn csv_clips_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("list.csv");
        std::fs::write(
            &csv,
            "text,video,start\nrain,clips/a.mp4,1.5\n,/abs/b.mp4,\n",
        )
        .unwrap();
        let clips = read_csv(&csv).unwrap();
        assert_eq!(clips[0].video, dir.path().join("clips/a.mp4"));
        assert_eq!(clips[0].text.as_deref(), Some("rain"));
        assert_eq!(clips[0].start, Some(1.5));
        assert_eq!(clips[1].video, PathBuf::from("/abs/b.mp4"));
        assert_eq!(clips[1].text, None);
        std::fs::write(&csv, "clip\nx.mp4\n").unwrap();
        assert!(read_csv(&csv).unwrap_err().to_string().contains("video"));
        std::fs::write(&csv, "video,start\nx.mp4,soon\n").unwrap();
        assert!(format!("{:#}", read_csv(&csv).unwrap_err()).contains("row 2"));
    }
}
