//! Features computed from the picture and the reference sound without a learned encoder.

pub mod cuts;
pub mod events;
pub mod kinematics;
pub mod motion;
pub mod objects;
pub mod reference;
pub mod track;
