//! Readers for the image-classification datasets XNAS searches on, in their real file formats.
//!
//! (The readers are being written; the class-name tables below are final.)

mod classes;

pub use classes::{class_names, DatasetName};
