//! `.avsync` project files: parsing never panics, and a project that parses satisfies every
//! check the editor relies on and survives a write/read round trip unchanged.
#![no_main]

use avsync_engine::project::ProjectFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = ProjectFile::parse(data) else {
        return;
    };
    let s = &p.session;
    assert!(s.range.0.is_finite() && s.range.1 >= s.range.0);
    assert!(s.markers.iter().all(|t| t.is_finite() && *t >= 0.0));
    assert!(s.selected.is_none_or(|i| i < p.candidates.len()));
    assert!(s.request.validate().is_ok());
    for c in &p.candidates {
        assert!(c.edits.check().is_ok());
        assert!(!c.audio.is_absolute());
    }
    let json = serde_json::to_vec(&p).unwrap();
    assert_eq!(ProjectFile::parse(&json).unwrap(), p);
});
