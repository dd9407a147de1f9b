//! The CSV readers: `batch`/`eval` clip lists and `dataset` caption lists. Never a panic; a
//! clip that is read has a valid range.
#![no_main]

use std::path::Path;

use avsync_engine::pipeline::clips::parse_clips;
use avsync_engine::train::dataset::parse_caption_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = avsync_engine::csv::parse(text) {
        assert!(rows.iter().all(|r| r.iter().any(|f| !f.is_empty())));
    }
    if let Ok(clips) = parse_clips(text, Path::new("/base")) {
        for c in clips {
            assert!(c.start.is_none_or(|s| s.is_finite() && s >= 0.0));
            assert!(c.end.is_none_or(|e| e.is_finite() && e >= 0.0));
            if let (Some(s), Some(e)) = (c.start, c.end) {
                assert!(e > s);
            }
        }
    }
    if let Ok(captions) = parse_caption_csv(text) {
        assert!(captions.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
    }
});
