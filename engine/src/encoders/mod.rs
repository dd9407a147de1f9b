//! The frozen conditioning encoders: text (all-MiniLM-L6-v2 for the default model, FLAN-T5
//! for Tango-style models) with their tokenizers, images (CLIP), video (ViCLIP) and reference
//! audio (EnCodec tokens), and the aiSFX sound-effects embeddings.

pub mod aisfx;
pub mod bert;
pub mod clip;
pub mod clip_preprocess;
pub mod encodec;
pub mod frames;
pub mod minilm;
pub mod t5;
pub mod tokenizer;
pub mod viclip;
