//! megaloop-gpu: the wgpu backend of megaloop.
//!
//! It will lower validated IR programs to WGSL and run them on real GPUs and on
//! lavapipe; see ARCHITECTURE.md. Nothing is implemented yet: the crate exists so the
//! workspace has its final shape.
