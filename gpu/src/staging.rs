//! The GPU backend's IO staging buffer: a MAP_WRITE buffer that mirrors one device buffer
//! (the heap). Between epochs it is mapped and the host's IO service reads file data
//! straight into the mapping ([`IoStaging`]); the next run unmaps it and copies each
//! landed range into the device buffer after the upload and before the dispatch.

use crate::device::Device;
use megaloop::host::io::RawRegion;
use megaloop::host::staging::IoStaging;
use megaloop::host::BackendError;
use std::time::Duration;

/// A staging buffer and its mapping.
pub struct StagingBuffer {
    buffer: wgpu::Buffer,
    /// The device buffer (by declaration position) it mirrors.
    target: usize,
    /// Size in bytes.
    bytes: u64,
    /// Whether the buffer is mapped (it is at creation, and after `map`).
    mapped: bool,
    view: Option<wgpu::BufferViewMut>,
    area: IoStaging,
    /// Bytes copied from staging into the device buffer so far.
    pub copied_bytes: u64,
}

fn device_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Device(e.to_string())
}

impl StagingBuffer {
    /// A mapped staging buffer mirroring buffer `target` of `words` words.
    pub fn new(dev: &Device, target: usize, words: usize) -> StagingBuffer {
        let bytes = (words as u64 * 4).max(4);
        let buffer = dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("io staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: true,
        });
        let area = IoStaging { region: RawRegion { ptr: std::ptr::null_mut(), len: 0 }, landed: Vec::new() };
        StagingBuffer { buffer, target, bytes, mapped: true, view: None, area, copied_bytes: 0 }
    }

    /// Whether this mirrors buffer `target` of `words` words.
    pub fn mirrors(&self, target: usize, words: usize) -> bool {
        self.target == target && self.bytes == (words as u64 * 4).max(4)
    }

    /// The mapped area, mapping the buffer first if the last run unmapped it: after the
    /// submission `after` (the one that copied from it) when given, else after all work.
    pub fn map(
        &mut self,
        dev: &Device,
        after: Option<wgpu::SubmissionIndex>,
        timeout: Duration,
    ) -> Result<&mut IoStaging, BackendError> {
        if !self.mapped {
            let (tx, rx) = std::sync::mpsc::channel();
            self.buffer.map_async(wgpu::MapMode::Write, .., move |r| {
                let _ = tx.send(r);
            });
            dev.wait(after, timeout)?;
            rx.recv().map_err(device_error)?.map_err(device_error)?;
            self.mapped = true;
        }
        if self.view.is_none() {
            let mut view = self.buffer.get_mapped_range_mut(..).map_err(device_error)?;
            let len = view.len();
            let ptr = view.slice(..).as_raw_element_ptr().as_ptr();
            self.area.region = RawRegion { ptr, len };
            self.view = Some(view);
        }
        Ok(&mut self.area)
    }

    /// Before a run over `device_buffers` (in declaration order): unmap, and record a copy
    /// of every landed range into the mirrored buffer (in landing order, so a later landing
    /// wins).
    pub fn copy_landed(&mut self, encoder: &mut wgpu::CommandEncoder, device_buffers: &[wgpu::Buffer]) {
        if self.area.landed.is_empty() {
            return;
        }
        let Some(device_buffer) = device_buffers.get(self.target).filter(|b| b.size() == self.bytes) else {
            // A different program's buffers: these landings belonged to another ring.
            self.area.landed.clear();
            return;
        };
        self.view = None;
        self.buffer.unmap();
        self.mapped = false;
        for (word, words) in self.area.landed.drain(..).filter(|&(_, words)| words > 0) {
            encoder.copy_buffer_to_buffer(
                &self.buffer,
                word as u64 * 4,
                device_buffer,
                word as u64 * 4,
                words as u64 * 4,
            );
            self.copied_bytes += words as u64 * 4;
        }
    }
}
