//! Every JSON configuration a loader parses: the model manifest (`avsync_model.json`) and the
//! `config.json` of the U-Net, VAE, vocoder, adapter, scheduler, verifier heads and encoders.
//! The first byte picks the loader, the rest is the file. Never a panic; a configuration that
//! loads describes a model that can be built (checked by each loader's own validation).
#![no_main]

use avsync_engine::encoders::aisfx::AisfxConfig;
use avsync_engine::encoders::bert::BertConfig;
use avsync_engine::encoders::clip::ClipVisionConfig;
use avsync_engine::encoders::encodec::EncodecConfig;
use avsync_engine::encoders::t5::T5Config;
use avsync_engine::models::adapters::AdapterConfig;
use avsync_engine::models::heads::HeadsConfig;
use avsync_engine::models::unet::UNetConfig;
use avsync_engine::models::vae::VaeConfig;
use avsync_engine::models::vocoder::VocoderConfig;
use avsync_engine::pipeline::ModelManifest;
use avsync_engine::schedule::ScheduleConfig;
use avsync_fuzz::{scratch_dir, scratch_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    let path = scratch_file("config.json", json);
    match which % 12 {
        0 => {
            let dir = scratch_dir().join("model");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("avsync_model.json"), json).unwrap();
            let _ = ModelManifest::read(&dir);
        }
        1 => drop(UNetConfig::from_file(&path)),
        2 => drop(VaeConfig::from_file(&path)),
        3 => drop(VocoderConfig::from_file(&path)),
        4 => drop(AdapterConfig::from_file(&path)),
        5 => drop(ScheduleConfig::from_file(&path)),
        6 => drop(HeadsConfig::from_file(&path)),
        7 => drop(AisfxConfig::from_file(&path)),
        8 => drop(BertConfig::from_file(&path)),
        9 => drop(T5Config::from_file(&path)),
        10 => drop(ClipVisionConfig::from_file(&path)),
        _ => drop(EncodecConfig::from_file(&path)),
    }
});
