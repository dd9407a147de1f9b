//! AvSync Studio's front ends over the engine: the command line and the editor window.

pub mod cli;
pub mod gui;
pub mod settings;
