//! The whole generation pipeline on a tiny random model: what holds for any weights (shapes,
//! durations, determinism, search bookkeeping, cancellation, caching, errors). Nothing here
//! pretends random weights make good audio.

use std::path::Path;

use avsync_engine::Error;
use avsync_engine::features::track::{MotionTokens, MotionTrack};
use avsync_engine::gmds::GmdsSettings;
use avsync_engine::pipeline::conditioning::visual_features;
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::pipeline::presets::{Preset, init_model_dir};
use avsync_engine::pipeline::render::SamplerSettings;
use avsync_engine::pipeline::windows::WindowPlan;
use avsync_engine::pipeline::{
    Event, EventSource, FeatureCache, GenerationRequest, Model, ReferenceSound, generate,
};
use avsync_engine::schedule::SamplerKind;
use avsync_tests::media;
use burn::tensor::Device;

fn tiny_model(dir: &Path) -> Model {
    init_model_dir(Preset::Tiny, "tiny", dir, &Device::flex()).unwrap();
    Model::load(dir, &Device::flex()).unwrap()
}

fn cockatoo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/cockatoo.mp4")
}

fn request(video: &Path) -> GenerationRequest {
    GenerationRequest {
        text: "a bird flaps its wings".into(),
        sampler: SamplerSettings {
            kind: SamplerKind::DpmSolver,
            steps: 3,
            guidance: 3.0,
        },
        search_steps: Some(2),
        keep: 2,
        seed: 11,
        gmds: GmdsSettings {
            population: 3,
            iterations: 1,
            explore: 0.5,
            refine: 0.9,
        },
        max_batch: 4,
        ..GenerationRequest::new(video)
    }
}

#[test]
fn generates_any_length_deterministically_with_search_bookkeeping() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let mut cache = FeatureCache::new();
    let req = GenerationRequest {
        start_s: Some(1.0),
        end_s: Some(7.0),
        ..request(&cockatoo())
    };
    let mut progress = Vec::new();
    let mut streamed = 0;
    let report = generate(&model, &req, &mut cache, &device, &mut |e| {
        match e {
            Event::Progress { done, total, .. } => progress.push((done, total)),
            Event::Candidate(_) => streamed += 1,
            Event::Stage(_) => {}
        }
        true
    })
    .unwrap()
    .unwrap();

    // Six seconds over 2.56 s windows: three windows, stitched to exactly the range, each
    // overlap's two ends measured for continuity.
    assert_eq!(report.windows.len(), 3);
    assert_eq!(report.candidates[0].joins.len(), 4);
    assert_eq!(report.candidates.len(), 2);
    assert_eq!(streamed, 2);
    for c in &report.candidates {
        assert_eq!(c.audio.len(), 6 * SAMPLE_RATE as usize);
        assert!(c.audio.iter().all(|v| v.is_finite()));
        assert_eq!(c.mel.n_frames, 600);
        assert!(
            c.scores
                .iter()
                .any(|s| s.name == "sync" && s.score.is_some())
        );
        let text = c.scores.iter().find(|s| s.name == "text").unwrap();
        assert!(text.score.is_none() && text.note.is_some(), "never faked");
    }
    assert!(report.candidates[0].score >= report.candidates[1].score);

    // GMDS: N + 2NT candidates, best never decreasing, best = max over the evaluated.
    assert_eq!(report.search.len(), 9);
    assert!(report.best_by_iteration.windows(2).all(|w| w[1] >= w[0]));
    let max = report
        .search
        .iter()
        .map(|c| c.score)
        .fold(f64::MIN, f64::max);
    assert_eq!(*report.best_by_iteration.last().unwrap(), max);
    assert_eq!(report.search[0].score, max);
    // Network evaluations: (9 x 3 windows x 2 steps + 2 x 3 x 3) rows, twice for guidance.
    assert_eq!(report.search_evaluations, 2 * 9 * 3 * 2);
    assert_eq!(report.network_evaluations, 2 * (9 * 3 * 2 + 2 * 3 * 3));
    let (done, total) = *progress.last().unwrap();
    assert_eq!(done, total);
    assert!(progress.windows(2).all(|w| w[1].0 > w[0].0));

    // Same seed, same candidates; the picture is not analysed again.
    let hits = cache.hits;
    let again = generate(&model, &req, &mut cache, &device, &mut |_| true)
        .unwrap()
        .unwrap();
    assert!(
        cache.hits >= hits + 2,
        "track and features come from the cache"
    );
    assert_eq!(again.candidates[0].audio, report.candidates[0].audio);
    let other = GenerationRequest { seed: 12, ..req };
    let other = generate(&model, &other, &mut cache, &device, &mut |_| true)
        .unwrap()
        .unwrap();
    assert_ne!(other.candidates[0].audio, report.candidates[0].audio);
}

#[test]
fn exact_mode_renders_nothing_twice_and_cancels_within_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let mut cache = FeatureCache::new();
    let req = GenerationRequest {
        search_steps: None,
        gmds: GmdsSettings {
            iterations: 0,
            ..request(&media("cfr_25.mp4")).gmds
        },
        ..request(&media("cfr_25.mp4"))
    };
    let report = generate(&model, &req, &mut cache, &device, &mut |_| true)
        .unwrap()
        .unwrap();
    assert_eq!(report.candidates[0].audio.len(), SAMPLE_RATE as usize);
    assert_eq!(report.network_evaluations, report.search_evaluations);
    assert_eq!(
        report.candidates[0].search_score,
        report.candidates[0].score
    );

    // A population of one has nothing to choose between: it renders at full steps directly,
    // whatever the search steps say.
    let single = GenerationRequest {
        search_steps: Some(1),
        keep: 1,
        gmds: GmdsSettings {
            population: 1,
            iterations: 0,
            ..req.gmds
        },
        ..req.clone()
    };
    let one = generate(&model, &single, &mut cache, &device, &mut |_| true)
        .unwrap()
        .unwrap();
    assert_eq!(one.network_evaluations, 2 * req.sampler.steps);
    assert_eq!(one.network_evaluations, one.search_evaluations);

    // Cancel at the first step: no further step runs.
    let mut steps_after_cancel = 0;
    let mut cancelled = false;
    let out = generate(&model, &req, &mut cache, &device, &mut |e| {
        if let Event::Progress { .. } = e {
            if cancelled {
                steps_after_cancel += 1;
            }
            cancelled = true;
            return false;
        }
        true
    })
    .unwrap();
    assert!(out.is_none());
    assert_eq!(steps_after_cancel, 0);
}

#[test]
fn marked_events_drive_the_event_track_and_the_sync_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let clip = cockatoo();

    // The event track: one mark per slot that holds a marked time, nothing elsewhere.
    let track = MotionTrack::analyse(&clip, (0.0, 2.0), 4).unwrap();
    let plan = WindowPlan::new((0.0, 2.0), model.window_seconds()).unwrap();
    let marks = [0.5, 1.25];
    let visual = visual_features(&model, &clip, &track, &marks, &plan, &device).unwrap();
    let [w, n, d] = visual.frames_shape;
    assert_eq!(d, MotionTokens::Events.width(4));
    let slot = plan.window_s / n as f64;
    for k in 0..w {
        for j in 0..n {
            let at = plan.starts[k] + j as f64 * slot;
            let marked = marks.iter().any(|&t| t >= at && t < at + slot);
            let row = &visual.frames[(k * n + j) * d..(k * n + j + 1) * d];
            assert_eq!(
                row[d - 2],
                if marked { 1.0 } else { 0.0 },
                "window {k} slot {j}"
            );
        }
    }

    // The sync verifier lines onsets up with the marks instead of the picture's events.
    let base = GenerationRequest {
        keep: 1,
        start_s: Some(0.0),
        end_s: Some(2.0),
        ..request(&clip)
    };
    let run = |req: &GenerationRequest| {
        let report = generate(&model, req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
        .unwrap()
        .unwrap();
        let c = &report.candidates[0];
        c.scores.iter().find(|s| s.name == "sync").unwrap().score
    };
    let marked = GenerationRequest {
        events: Some(marks.to_vec()),
        ..base.clone()
    };
    assert_ne!(run(&base), run(&marked));
    for bad in [vec![-0.5], vec![f64::NAN]] {
        let req = GenerationRequest {
            events: Some(bad),
            ..base.clone()
        };
        let e = generate(&model, &req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("event time"), "{e}");
    }
}

#[test]
fn reference_sound_and_saved_weights_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let req = GenerationRequest {
        reference: Some(ReferenceSound {
            path: media("tone.flac"),
            codebooks: 4,
        }),
        gmds: GmdsSettings {
            population: 1,
            iterations: 0,
            ..GmdsSettings::default()
        },
        keep: 1,
        ..request(&media("cfr_25.mp4"))
    };
    let first = generate(&model, &req, &mut FeatureCache::new(), &device, &mut |_| {
        true
    })
    .unwrap()
    .unwrap();
    // The reference verifier embeds the candidate and the reference sound (aisfx).
    let reference = first.candidates[0]
        .scores
        .iter()
        .find(|s| s.name == "reference")
        .unwrap();
    let r = reference.score.expect("reference similarity is scored");
    assert!((-1.0..=1.0).contains(&r), "{r}");
    // Writing the weights back under their checkpoint names and loading them again gives
    // the same model.
    model.save_weights().unwrap();
    let reloaded = Model::load(dir.path(), &device).unwrap();
    let second = generate(
        &reloaded,
        &req,
        &mut FeatureCache::new(),
        &device,
        &mut |_| true,
    )
    .unwrap()
    .unwrap();
    assert_eq!(first.candidates[0].audio, second.candidates[0].audio);
}

#[test]
fn bad_requests_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let run = |req: GenerationRequest| {
        generate(&model, &req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
        .err()
        .map(|e| e.to_string())
        .expect("an error")
    };
    let clip = media("cfr_25.mp4");
    let e = run(request(Path::new("/nonexistent/clip.mp4")));
    assert!(e.contains("/nonexistent/clip.mp4"), "{e}");
    let e = run(GenerationRequest {
        start_s: Some(5.0),
        end_s: Some(6.0),
        ..request(&clip)
    });
    assert!(e.contains("outside the clip"), "{e}");
    let e = run(GenerationRequest {
        gmds: GmdsSettings {
            population: 0,
            ..GmdsSettings::default()
        },
        ..request(&clip)
    });
    assert!(e.contains("population"), "{e}");
    let e = run(GenerationRequest {
        gmds: GmdsSettings {
            explore: 1.5,
            ..GmdsSettings::default()
        },
        ..request(&clip)
    });
    assert!(e.contains("beta_s"), "{e}");
    let bad_ref = dir.path().join("broken.wav");
    std::fs::write(&bad_ref, b"RIFF but not really").unwrap();
    let e = run(GenerationRequest {
        reference: Some(ReferenceSound {
            path: bad_ref.clone(),
            codebooks: 4,
        }),
        ..request(&clip)
    });
    assert!(e.contains("broken.wav"), "{e}");
    assert!(matches!(
        Model::load(&dir.path().join("missing"), &device).err(),
        Some(Error::Media { .. })
    ));
}

/// A safetensors file's `__metadata__` entry.
fn safetensors_metadata(path: &Path, key: &str) -> String {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][key].as_str().unwrap().to_string()
}

#[test]
fn full_tier_directory_with_t5_clip_viclip_and_encodec() {
    use avsync_engine::models::adapters::AdapterConfig;
    use avsync_engine::pipeline::model::{FrameSpec, ReferenceSpec, TextSpec, VideoSpec};
    use avsync_engine::pipeline::presets::{ModelSpec, tiny_networks, write_fresh_model};

    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/fixtures/encoders");
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let viclip_config = dir.path().join("viclip.json");
    let viclip = safetensors_metadata(&fx.join("viclip_tiny_io.safetensors"), "config");
    std::fs::write(&viclip_config, &viclip).unwrap();
    let d_text = json(&fx.join("t5_tiny/config.json"))["d_model"]
        .as_u64()
        .unwrap() as usize;
    let d_frame = json(&fx.join("clip_vision_tiny/config.json"))["projection_dim"]
        .as_u64()
        .unwrap() as usize;
    let d_video = serde_json::from_str::<serde_json::Value>(&viclip).unwrap()["output_dim"]
        .as_u64()
        .unwrap() as usize;
    let d_audio = json(&fx.join("encodec_tiny/config.json"))["codebook_dim"]
        .as_u64()
        .unwrap() as usize;
    let (mut unet, vae, vocoder) = tiny_networks();
    unet.cross_attention_dim = d_text;
    let spec = ModelSpec {
        name: "tiny full tier".into(),
        window_seconds: 2.56,
        unet,
        vae,
        vocoder,
        adapter: AdapterConfig {
            d_video,
            num_video_tokens: 2,
            d_frame,
            d_audio,
            cross_attention_dim: d_text,
            rope_theta: 10_000.0,
        },
        text: TextSpec::T5 {
            path: fx.join("t5_tiny"),
        },
        frames: FrameSpec::Clip {
            path: fx.join("clip_vision_tiny"),
            count: 4,
        },
        video: VideoSpec::Viclip {
            path: fx.join("viclip_tiny.safetensors"),
            config: Some(viclip_config),
        },
        reference: ReferenceSpec::Encodec {
            path: fx.join("encodec_tiny"),
        },
    };
    let model_dir = dir.path().join("model");
    let device = Device::flex();
    write_fresh_model(&spec, &model_dir, &device).unwrap();
    let model = Model::load(&model_dir, &device).unwrap();
    let req = GenerationRequest {
        reference: Some(ReferenceSound {
            path: media("tone.flac"),
            codebooks: 1,
        }),
        gmds: GmdsSettings {
            population: 2,
            iterations: 0,
            ..GmdsSettings::default()
        },
        keep: 1,
        ..request(&media("cfr_25.mp4"))
    };
    let report = generate(&model, &req, &mut FeatureCache::new(), &device, &mut |_| {
        true
    })
    .unwrap()
    .unwrap();
    assert_eq!(report.candidates[0].audio.len(), SAMPLE_RATE as usize);

    // A model whose parts do not fit is refused with the reason.
    let mut bad = spec;
    bad.adapter.d_frame += 1;
    let bad_dir = dir.path().join("bad");
    write_fresh_model(&bad, &bad_dir, &device).unwrap();
    let e = Model::load(&bad_dir, &device).err().unwrap().to_string();
    assert!(e.contains("frame features"), "{e}");
}

/// The shipped default model loads, generates for a clip range, and scores with all three
/// verifiers (its heads switch on the audio-text verifier).
#[test]
fn the_default_model_generates_with_every_verifier() {
    let dir = avsync_engine::pipeline::model::default_model_dir();
    let device = Device::flex();
    let model = Model::load(&dir, &device).unwrap();
    assert!(
        model.heads.is_some(),
        "the default model ships its verifier heads"
    );
    let req = GenerationRequest {
        start_s: Some(2.0),
        end_s: Some(4.0),
        text: "a bird flaps its wings".into(),
        sampler: SamplerSettings {
            kind: SamplerKind::DpmSolver,
            steps: 4,
            guidance: 3.0,
        },
        search_steps: Some(2),
        keep: 1,
        gmds: GmdsSettings {
            population: 2,
            iterations: 0,
            explore: 0.5,
            refine: 0.9,
        },
        ..GenerationRequest::new(cockatoo())
    };
    let report = generate(&model, &req, &mut FeatureCache::new(), &device, &mut |_| {
        true
    })
    .unwrap()
    .unwrap();
    let best = &report.candidates[0];
    assert_eq!(best.audio.len(), 2 * SAMPLE_RATE as usize);
    assert!(best.audio.iter().all(|v| v.is_finite()));
    assert!(best.audio.iter().any(|v| v.abs() > 1e-4), "not silence");
    for name in ["sync", "text"] {
        let s = best.scores.iter().find(|s| s.name == name).unwrap();
        let v = s.score.unwrap_or_else(|| panic!("{name}: {:?}", s.note));
        assert!((-1.0..=1.0).contains(&v), "{name} {v}");
    }
}

#[test]
fn draft_vocoding_keeps_the_sound_the_verifiers_read() {
    use avsync_engine::dsp::mel::MelExtractor;
    use avsync_engine::pipeline::conditioning::load_reference;
    use avsync_engine::pipeline::render::{Vocoding, waveforms};
    use avsync_engine::verify::reference::cosine;

    // A real recording (the clip's own sound), as the VAE's log-mel would describe it.
    let audio = load_reference(&cockatoo()).unwrap();
    let rate = SAMPLE_RATE as usize;
    let window = &audio.samples[2 * rate..2 * rate + rate * 256 / 100];
    let mel = MelExtractor::audioldm().unwrap().log_mel(window).unwrap();
    let device = Device::flex();
    let full = Vocoding::GRIFFIN_LIM;
    let waves = [full, full.draft()].map(|v| waveforms(v, &[&mel], &device).unwrap().remove(0));
    assert_eq!(waves[0].len(), waves[1].len());
    let aisfx = avsync_engine::pipeline::model::load_aisfx(&device).unwrap();
    let clips: Vec<Vec<f32>> = [window, &waves[0], &waves[1]]
        .iter()
        .map(|w| {
            let buffer = avsync_engine::audio::AudioBuffer::new(SAMPLE_RATE, 1, w.to_vec());
            aisfx.clip_embeddings_audio(&[&buffer]).unwrap().remove(0)
        })
        .collect();
    let (original_full, original_draft) =
        (cosine(&clips[0], &clips[1]), cosine(&clips[0], &clips[2]));
    let draft_full = cosine(&clips[1], &clips[2]);
    println!(
        "embedding cosine: original-full {original_full:.4}, original-draft {original_draft:.4}, draft-full {draft_full:.4}"
    );
    assert!(
        draft_full > 0.95,
        "draft and full vocoding embed apart: {draft_full}"
    );
    assert!(original_draft > original_full - 0.05);
}

/// A one-shot hit (a decaying burst with a sharp attack) at 48 kHz.
fn hit_file(dir: &Path) -> std::path::PathBuf {
    use avsync_engine::AudioBuffer;
    use avsync_engine::media::{WavFormat, WavSpec, write_wav};
    let rate = 48_000;
    let samples: Vec<f32> = (0..rate / 4)
        .map(|i| {
            let t = i as f32 / rate as f32;
            0.8 * (-t * 30.0).exp() * (t * 2100.0 * std::f32::consts::TAU).sin()
                + 0.1 * (-t * 30.0).exp() * (t * 13_000.0 * std::f32::consts::TAU).sin()
        })
        .collect();
    let path = dir.join("hit.wav");
    write_wav(
        &path,
        &AudioBuffer::new(rate as u32, 1, samples),
        &WavSpec {
            format: WavFormat::Float32,
            bext: None,
        },
    )
    .unwrap();
    path
}

#[test]
fn generation_varies_a_recording_laid_on_the_events_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let device = Device::flex();
    let hit = hit_file(dir.path());
    let at = |strength: f64| GenerationRequest {
        start_s: Some(0.0),
        end_s: Some(1.0),
        reference: Some(ReferenceSound {
            path: hit.clone(),
            codebooks: 4,
        }),
        events: Some(vec![0.25, 0.75]),
        anchoring: avsync_engine::pipeline::Anchoring {
            strength,
            ..Default::default()
        },
        ..request(&media("cfr_25.mp4"))
    };
    let run = |req: &GenerationRequest| {
        generate(&model, req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
        .unwrap()
        .unwrap()
    };

    // Strength 0: the recording placed on the events, no network, full band, named.
    let draft = run(&at(0.0));
    assert_eq!(draft.network_evaluations, 0);
    assert_eq!(draft.sources.len(), 1);
    // The report lists the events used, with where they came from.
    let used: Vec<(f64, EventSource)> = draft.events.iter().map(|e| (e.time_s, e.from)).collect();
    assert_eq!(
        used,
        vec![(0.25, EventSource::Given), (0.75, EventSource::Given)]
    );
    let c = &draft.candidates[0];
    assert_eq!(c.source.as_ref().unwrap().path, hit);
    let full = c.full_band.as_ref().expect("a full-band delivery");
    assert_eq!(full.len(), 48_000);
    let onset = |x: &[f32], rate: f32| x.iter().position(|v| v.abs() > 0.05).unwrap() as f32 / rate;
    assert!(
        (onset(full, 48_000.0) - 0.25).abs() < 0.01,
        "attack on the event"
    );
    assert!((onset(&c.audio, 16_000.0) - 0.25).abs() < 0.01);
    // The band above 8 kHz is the recording's own: its 13 kHz partial dominates the second
    // difference (a high-pass) just after the attack.
    let second = |x: &[f32]| {
        let d: Vec<f32> = x.windows(3).map(|w| w[0] - 2.0 * w[1] + w[2]).collect();
        (d.iter().map(|v| v * v).sum::<f32>() / d.len() as f32).sqrt()
    };
    assert!(
        second(&full[12_000..12_500]) > 0.1,
        "{}",
        second(&full[12_000..12_500])
    );
    // Two candidates differ in their placement's gain and pitch.
    assert_ne!(draft.candidates[0].audio, draft.candidates[1].audio);

    // A variation runs only part of the schedule; from noise runs all of it.
    let varied = run(&at(0.5));
    let noise = run(&at(1.0));
    assert!(varied.network_evaluations > 0);
    assert!(varied.network_evaluations < noise.network_evaluations);
    let v = &varied.candidates[0];
    assert_eq!(v.full_band.as_ref().map(Vec::len), Some(48_000));
    assert!(v.audio.iter().all(|x| x.is_finite()));
    assert!(noise.candidates[0].full_band.is_none());
    assert_eq!(noise.candidates[0].source.as_ref().unwrap().path, hit);
}

#[test]
fn a_library_that_cannot_be_used_leaves_generation_from_the_text_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let tiny = tiny_model(dir.path());
    let shipped = Model::load(
        &avsync_engine::pipeline::model::default_model_dir(),
        &device,
    )
    .unwrap();
    let broken = dir.path().join("broken.avslib");
    std::fs::write(&broken, b"not an index").unwrap();
    for (model, library, why) in [
        (&shipped, broken, "cannot read the library"),
        (&shipped, dir.path().join("none.avslib"), "holds no sounds"),
        // A model without audio-text heads cannot search any library.
        (
            &tiny,
            dir.path().join("none.avslib"),
            "cannot search the library",
        ),
    ] {
        let req = GenerationRequest {
            anchoring: avsync_engine::pipeline::Anchoring {
                library: Some(library),
                ..Default::default()
            },
            ..request(&media("cfr_25.mp4"))
        };
        let report = generate(model, &req, &mut FeatureCache::new(), &device, &mut |_| {
            true
        })
        .unwrap()
        .unwrap();
        assert!(report.sources.is_empty());
        assert!(report.candidates[0].source.is_none());
        assert!(
            report.notes.iter().any(|n| n.contains(why)),
            "{:?}",
            report.notes
        );
    }
}
