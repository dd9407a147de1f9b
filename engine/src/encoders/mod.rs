//! The frozen conditioning encoders: text (all-MiniLM-L6-v2 for the default model), with
//! their tokenizers.

pub mod bert;
pub mod minilm;
pub mod tokenizer;
