//! Device buffers kept between runs, and what the host knows they hold
//! ([`megaloop::host::mirror::Mirror`]): only changed words of the host's mirrored part
//! travel to the device, device-only words (IO landing areas) never after creation.

use megaloop::host::mirror::Mirror;
use megaloop::ir::ValidProgram;

/// The device buffers of the last successful run.
pub struct Resident {
    /// One device buffer per program buffer, in binding order.
    pub buffers: Vec<wgpu::Buffer>,
    mirror: Mirror,
}

/// A storage buffer the backend binds (copied to and from), holding `words`.
pub fn device_buffer(device: &wgpu::Device, queue: &wgpu::Queue, label: &str, words: &[u32]) -> wgpu::Buffer {
    let b = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (words.len() as u64 * 4).max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    queue.write_buffer(&b, 0, bytemuck::cast_slice(words));
    b
}

impl Resident {
    /// Fresh device buffers for `program`, holding `host`.
    pub fn create(device: &wgpu::Device, queue: &wgpu::Queue, program: &ValidProgram, host: &[Vec<u32>]) -> Resident {
        let buffers =
            program.buffers.iter().zip(host).map(|(d, words)| device_buffer(device, queue, &d.name, words)).collect();
        Resident { buffers, mirror: Mirror::created(program, host) }
    }

    /// Whether these buffers are laid out as `program` declares, with `host`'s sizes.
    pub fn fits(&self, program: &ValidProgram, host: &[Vec<u32>]) -> bool {
        self.mirror.fits(program, host)
            && self.buffers.len() == host.len()
            && self.buffers.iter().zip(host).all(|(b, w)| b.size() == (w.len() as u64 * 4).max(4))
    }

    /// Bring the device up to `host`'s mirrored words. Returns the bytes written.
    pub fn upload(&self, queue: &wgpu::Queue, program: &ValidProgram, host: &[Vec<u32>]) -> u64 {
        let mut bytes = 0;
        for (b, r) in self.mirror.uploads(program, host) {
            queue.write_buffer(&self.buffers[b], r.start as u64 * 4, bytemuck::cast_slice(&host[b][r.clone()]));
            bytes += r.len() as u64 * 4;
        }
        bytes
    }

    /// Whether buffer `buffer` has device-only words.
    pub fn has_device_only(&self, buffer: usize) -> bool {
        self.mirror.has_device_only(buffer)
    }

    /// Whether any buffer has device-only words (what only this device holds).
    pub fn has_any_device_only(&self) -> bool {
        (0..self.buffers.len()).any(|b| self.mirror.has_device_only(b))
    }

    /// After a successful run whose readback reached `host`.
    pub fn remember(&mut self, program: &ValidProgram, host: &[Vec<u32>]) {
        self.mirror.remember(program, host);
    }
}
