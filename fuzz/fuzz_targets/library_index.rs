//! Library index files (`library.avslib`): never a panic, never an allocation the file's size
//! does not justify, and an index that reads writes back to the same bytes' meaning.
#![no_main]

use avsync_engine::library::LibraryIndex;
use avsync_fuzz::scratch_dir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = LibraryIndex::from_bytes(data) else {
        return;
    };
    for i in 0..index.len() {
        assert!(index.audio_embedding(i).iter().all(|v| v.is_finite()));
        assert!(index.joint_embedding(i).iter().all(|v| v.is_finite()));
    }
    let path = scratch_dir().join("index.avslib");
    index.save(&path).unwrap();
    assert_eq!(LibraryIndex::load(&path).unwrap(), index);
});
