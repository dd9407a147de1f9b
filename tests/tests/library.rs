//! The sound library: indexing a folder (new, changed and vanished files; unreadable ones
//! listed with the reason), the index file's round trip, cancelling, and search by text and
//! by example with the shipped model's heads.

use avsync_engine::library::{LibraryIndex, SoundEmbedder, search_example, search_text};
use avsync_engine::pipeline::model::{assets_dir, default_model_dir};
use avsync_tests::sound_library;

fn embedder() -> SoundEmbedder {
    SoundEmbedder::load(
        &assets_dir().join("models"),
        &default_model_dir(),
        &burn::tensor::Device::flex(),
    )
    .unwrap()
}

#[test]
fn index_updates_incrementally_and_searches() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sfx");
    let sounds = sound_library(&root);
    let root = std::fs::canonicalize(&root).unwrap();
    let embedder = embedder();
    let mut index = LibraryIndex::new();
    let mut seen = 0;
    let report = index
        .update(&root, &embedder, &mut |p| {
            seen = p.done;
            assert_eq!(p.total, 5);
            true
        })
        .unwrap();
    assert_eq!(seen, 5);
    assert_eq!(
        (report.found, report.added, report.skipped, report.cancelled),
        (5, 4, 1, false)
    );
    assert_eq!(index.len(), 4);
    let broken = &index.skipped[0];
    assert!(broken.path.ends_with("broken.wav"), "{broken:?}");
    assert!(!broken.reason.is_empty());
    let gravel = index
        .find(&std::fs::canonicalize(&sounds[3]).unwrap())
        .unwrap();
    assert_eq!(
        index.entries[gravel].words,
        ["gravel", "walk", "footsteps", "foley"]
    );
    assert!((index.entries[gravel].duration_s - 1.0).abs() < 0.05);

    // The file round trip keeps everything.
    let file = dir.path().join("config/library.avslib");
    index.save(&file).unwrap();
    let loaded = LibraryIndex::load(&file).unwrap();
    assert_eq!(loaded, index);

    // Again: nothing is read; a changed file is read again, a vanished one forgotten.
    let report = index.update(&root, &embedder, &mut |_| true).unwrap();
    assert_eq!((report.unchanged, report.added, report.skipped), (4, 0, 1));
    std::fs::copy(&sounds[1], &sounds[0]).unwrap();
    std::fs::remove_file(&sounds[2]).unwrap();
    let report = index.update(&root, &embedder, &mut |_| true).unwrap();
    assert_eq!(
        (report.changed, report.removed, report.unchanged),
        (1, 1, 2)
    );
    assert_eq!(index.len(), 3);
    let door = index
        .find(&std::fs::canonicalize(&sounds[0]).unwrap())
        .unwrap();
    let rain = index
        .find(&std::fs::canonicalize(&sounds[1]).unwrap())
        .unwrap();
    assert_eq!(index.audio_embedding(door), index.audio_embedding(rain));

    // By example: the example itself first; by text: the path words count.
    let like = search_example(&index, index.audio_embedding(door).to_vec().as_slice(), 2);
    assert!([door, rain].contains(&like[0].index));
    assert!((like[0].score - 1.0).abs() < 1e-5);
    let search = |q: &str| {
        let (joint, sentence) = embedder.query(q).unwrap();
        search_text(&index, q, &joint, &sentence, 10)
    };
    let hits = search("footsteps on gravel");
    assert_eq!(hits.len(), 3);
    assert!(
        index.entries[hits[0].index]
            .path
            .ends_with("gravelWalk_03.wav")
    );
    // Without a word of the path in the query, the meaning of the path words still finds it.
    for (q, file) in [
        ("someone walks on small stones", "gravelWalk_03.wav"),
        ("a heavy downpour", "rain_loop.wav"),
    ] {
        let top = &index.entries[search(q)[0].index].path;
        assert!(top.ends_with(file), "{q}: {}", top.display());
    }
}

#[test]
fn cancelled_indexing_keeps_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    sound_library(dir.path());
    let embedder = embedder();
    let mut index = LibraryIndex::new();
    let report = index
        .update(dir.path(), &embedder, &mut |p| p.done < 2)
        .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.added + report.skipped, 2);
    let report = index.update(dir.path(), &embedder, &mut |_| true).unwrap();
    assert!(!report.cancelled);
    assert_eq!(index.len(), 4);
}

#[test]
fn a_damaged_index_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("library.avslib");
    assert!(LibraryIndex::load(&file).unwrap().is_empty());
    std::fs::write(&file, b"AVSLIB1\n\x05\0\0\0\0\0\0\0{bad}").unwrap();
    let e = LibraryIndex::load(&file).unwrap_err().to_string();
    assert!(
        e.contains("library.avslib") && e.contains("not a library index"),
        "{e}"
    );
}
