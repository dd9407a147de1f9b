//! The clips of a batch or an evaluation: every video of a folder, or the rows of a CSV
//! (`video,text,ref_audio,audio,start,end,events`; only `video` is required; `audio` names
//! the real sound for evaluation; `events` lists event times in seconds of the clip,
//! separated by spaces; relative paths are relative to the CSV).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Video extensions a folder is scanned for.
pub const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf"];

/// One clip of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// The video.
    pub video: PathBuf,
    /// What should be heard, when not the batch's text.
    pub text: Option<String>,
    /// Reference sound.
    pub reference: Option<PathBuf>,
    /// The real sound (evaluation), when not the video's own audio.
    pub audio: Option<PathBuf>,
    /// Start of the range in seconds.
    pub start: Option<f64>,
    /// End of the range in seconds (after `start`).
    pub end: Option<f64>,
    /// Event times in seconds of the clip: the markers of a batch, the true events of an
    /// evaluation clip (an empty field is a clip with no events).
    pub events: Option<Vec<f64>>,
}

/// The clips of a folder of videos or of a CSV.
pub fn read_clips(input: &Path) -> Result<Vec<Clip>> {
    if input.is_dir() {
        scan(input)
    } else {
        let text = std::fs::read_to_string(input).map_err(|e| Error::io(input, e))?;
        parse_clips(&text, input.parent().unwrap_or(Path::new(".")))
            .map_err(|why| Error::media(input, why))
    }
}

/// Whether `path` ends in one of `extensions` (given in lower case; any case matches).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}

/// The files of `dir` ending in one of `extensions`, sorted by name.
pub fn files_with_extensions(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if has_extension(&path, extensions) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The videos of a folder, sorted by name.
fn scan(dir: &Path) -> Result<Vec<Clip>> {
    let videos = files_with_extensions(dir, &VIDEO_EXTENSIONS)?;
    Ok(videos
        .into_iter()
        .map(|video| Clip {
            video,
            text: None,
            reference: None,
            audio: None,
            start: None,
            end: None,
            events: None,
        })
        .collect())
}

/// Clips listed in CSV `text` with a header row, relative paths resolved against `base`.
pub fn parse_clips(text: &str, base: &Path) -> std::result::Result<Vec<Clip>, String> {
    let mut rows = crate::csv::parse(text).map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err("empty CSV".into());
    }
    let header: Vec<String> = rows
        .remove(0)
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let video_col = col("video").ok_or("the header has no `video` column")?;
    let (text_col, ref_col, audio_col) = (col("text"), col("ref_audio"), col("audio"));
    let (start_col, end_col, events_col) = (col("start"), col("end"), col("events"));
    let resolve = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { base.join(p) }
    };
    let mut clips = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        let field = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let seconds = |c: Option<usize>, name: &str| {
            field(c)
                .map(|s| match s.parse::<f64>() {
                    Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
                    _ => Err(format!("row {line}: `{name}` is not a time in seconds")),
                })
                .transpose()
        };
        let Some(video) = field(Some(video_col)) else {
            continue;
        };
        let (start, end) = (seconds(start_col, "start")?, seconds(end_col, "end")?);
        let events = events_col
            .map(|c| {
                row.get(c)
                    .map_or("", |s| s.as_str())
                    .split_whitespace()
                    .map(|t| match t.parse::<f64>() {
                        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
                        _ => Err(format!(
                            "row {line}: `events` has `{t}`, not a time in seconds"
                        )),
                    })
                    .collect::<std::result::Result<Vec<f64>, String>>()
            })
            .transpose()?;
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            return Err(format!("row {line}: `end` is not after `start`"));
        }
        clips.push(Clip {
            video: resolve(video),
            text: field(text_col).map(str::to_string),
            reference: field(ref_col).map(resolve),
            audio: field(audio_col).map(resolve),
            start,
            end,
            events,
        });
    }
    Ok(clips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_clips_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("list.csv");
        std::fs::write(
            &csv,
            "text,video,start\nrain,clips/a.mp4,1.5\n,/abs/b.mp4,\n",
        )
        .unwrap();
        let clips = read_clips(&csv).unwrap();
        assert_eq!(clips[0].video, dir.path().join("clips/a.mp4"));
        assert_eq!(clips[0].text.as_deref(), Some("rain"));
        assert_eq!(clips[0].start, Some(1.5));
        assert_eq!(clips[1].video, PathBuf::from("/abs/b.mp4"));
        assert_eq!(clips[1].text, None);
        let err = |text: &str| parse_clips(text, dir.path()).unwrap_err();
        assert!(err("clip\nx.mp4\n").contains("video"));
        assert!(err("video,start\nx.mp4,soon\n").contains("row 2"));
        assert!(err("video,start\nx.mp4,NaN\n").contains("start"));
        assert!(err("video,start,end\nx.mp4,2,1\n").contains("after"));
        assert!(err("video,events\nx.mp4,0.5 soon\n").contains("soon"));
        let marked = parse_clips("video,events\nx.mp4,0.5 1.25\ny.mp4,\n", dir.path()).unwrap();
        assert_eq!(marked[0].events, Some(vec![0.5, 1.25]));
        assert_eq!(marked[1].events, Some(vec![]));
        assert_eq!(clips[0].events, None);
        let e = read_clips(&dir.path().join("none.csv")).unwrap_err();
        assert!(e.to_string().contains("none.csv"));
    }
}
