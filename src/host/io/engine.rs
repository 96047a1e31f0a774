//! IO engines: something that carries out a batch of READ, WRITE and FENCE requests
//! between registered files and raw memory.
//!
//! A batch runs in order of its fences: every request before a FENCE completes before any
//! request after it starts; requests between two fences may run in any order and in
//! parallel. A READ returns the bytes read (fewer only at the end of the file); a WRITE
//! writes every byte or fails; a FENCE completes with 0.
//!
//! [`open_engine`] picks io_uring where the kernel allows it and falls back to positioned
//! reads and writes ([`PositionedEngine`]) otherwise, printing why once per process.

use crate::host::io::{FileTable, IoFailure};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Raw bytes an engine reads into or writes from: the simulator's words, a mapped GPU
/// staging buffer, or a bounce buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRegion {
    /// First byte.
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
}

// SAFETY: a region is an address range; whoever dereferences it (an engine, inside
// `IoEngine::submit`) does so under that method's contract.
unsafe impl Send for RawRegion {}
unsafe impl Sync for RawRegion {}

impl RawRegion {
    /// The bytes `start..start + len` of this region, if inside it.
    pub fn sub(&self, start: usize, len: usize) -> Option<RawRegion> {
        (start <= self.len && len <= self.len - start)
            // SAFETY: in bounds of the region, so of the same allocation.
            .then(|| RawRegion { ptr: unsafe { self.ptr.add(start) }, len })
    }

    /// Whether `other` lies inside this region.
    pub fn contains(&self, other: &RawRegion) -> bool {
        let (a, b) = (self.ptr as usize, other.ptr as usize);
        b >= a && b - a <= self.len && other.len <= self.len - (b - a)
    }

    /// A region over a byte slice.
    pub fn of(bytes: &mut [u8]) -> RawRegion {
        RawRegion { ptr: bytes.as_mut_ptr(), len: bytes.len() }
    }
}

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoKind {
    /// File -> memory.
    Read,
    /// Memory -> file.
    Write,
    /// Order: everything before completes before anything after starts.
    Fence,
}

/// One request of a batch.
#[derive(Clone, Copy, Debug)]
pub struct IoRequest {
    /// What to do.
    pub kind: IoKind,
    /// Registered file handle (ignored by FENCE).
    pub handle: u32,
    /// Byte offset in the file.
    pub offset: u64,
    /// The memory read into or written from (empty for FENCE).
    pub memory: RawRegion,
}

impl IoRequest {
    /// A FENCE.
    pub fn fence() -> IoRequest {
        IoRequest { kind: IoKind::Fence, handle: 0, offset: 0, memory: RawRegion { ptr: std::ptr::null_mut(), len: 0 } }
    }
}

/// Carries out batches of requests.
pub trait IoEngine: Send {
    /// A name for reports (`io_uring`, `positioned`).
    fn name(&self) -> &'static str;

    /// A hint: the requests of the next batches use memory inside `area` (io_uring
    /// registers it as a fixed buffer). Call it again before any batch after the memory
    /// behind `area` may have been unmapped, even at the same address. Requests outside it
    /// still work.
    fn use_area(&mut self, area: RawRegion) {
        let _ = area;
    }

    /// Whether any file is registered (with none, every READ and WRITE fails).
    fn has_files(&self) -> bool {
        true
    }

    /// Carry out `batch`; one result per request, in order: bytes moved, or why not.
    ///
    /// # Safety
    /// Every request's memory must be valid for reads and writes of its length until this
    /// returns, and nothing else may access it meanwhile.
    unsafe fn submit(&mut self, batch: &[IoRequest]) -> Vec<Result<u32, IoFailure>>;
}

impl IoEngine for Box<dyn IoEngine> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn use_area(&mut self, area: RawRegion) {
        (**self).use_area(area)
    }
    fn has_files(&self) -> bool {
        (**self).has_files()
    }
    unsafe fn submit(&mut self, batch: &[IoRequest]) -> Vec<Result<u32, IoFailure>> {
        // SAFETY: the caller's contract, passed on.
        unsafe { (**self).submit(batch) }
    }
}

/// Positioned reads and writes (`pread`/`pwrite`), one request at a time: the fallback
/// where io_uring is unavailable, and the reference the io_uring engine is tested against.
pub struct PositionedEngine {
    files: FileTable,
}

impl PositionedEngine {
    /// An engine over `files`.
    pub fn new(files: FileTable) -> PositionedEngine {
        PositionedEngine { files }
    }

    fn one(&self, r: &IoRequest) -> Result<u32, IoFailure> {
        use std::os::unix::fs::FileExt;
        let os = |source| IoFailure::Os { handle: r.handle, offset: r.offset, source };
        match r.kind {
            IoKind::Fence => Ok(0),
            IoKind::Read => {
                self.files.check_read(r.handle, r.offset)?;
                let file = &self.files.get(r.handle)?.file;
                // SAFETY: `submit`'s contract: the memory is valid and ours alone.
                let buf = unsafe { std::slice::from_raw_parts_mut(r.memory.ptr, r.memory.len) };
                let mut done = 0;
                while done < buf.len() {
                    match file.read_at(&mut buf[done..], r.offset + done as u64) {
                        Ok(0) => break,
                        Ok(n) => done += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(os(e)),
                    }
                }
                Ok(done as u32)
            }
            IoKind::Write => {
                self.files.check_write(r.handle)?;
                let file = &self.files.get(r.handle)?.file;
                // SAFETY: as above.
                let buf = unsafe { std::slice::from_raw_parts(r.memory.ptr, r.memory.len) };
                file.write_all_at(buf, r.offset).map_err(os)?;
                Ok(buf.len() as u32)
            }
        }
    }
}

impl IoEngine for PositionedEngine {
    fn name(&self) -> &'static str {
        "positioned"
    }
    fn has_files(&self) -> bool {
        self.files.has_open_files()
    }
    unsafe fn submit(&mut self, batch: &[IoRequest]) -> Vec<Result<u32, IoFailure>> {
        // One at a time, in order: FENCE ordering holds trivially.
        batch.iter().map(|r| self.one(r)).collect()
    }
}

/// Which engine [`open_engine`] should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// io_uring where available, positioned IO otherwise (the default).
    #[default]
    Auto,
    /// io_uring or an error.
    Uring,
    /// Positioned IO.
    Positioned,
}

impl EngineChoice {
    /// `auto`, `uring` (or `io_uring`) or `positioned`.
    pub fn parse(name: &str) -> Result<EngineChoice, String> {
        match name {
            "auto" => Ok(EngineChoice::Auto),
            "uring" | "io_uring" => Ok(EngineChoice::Uring),
            "positioned" => Ok(EngineChoice::Positioned),
            other => Err(format!("IO engine `{other}`: expected auto, uring or positioned")),
        }
    }
}

/// A way to open io_uring over a table, giving the table back with the reason on failure.
type UringOpener = fn(FileTable) -> Result<Box<dyn IoEngine>, (FileTable, std::io::Error)>;

#[cfg(target_os = "linux")]
fn open_uring(files: FileTable) -> Result<Box<dyn IoEngine>, (FileTable, std::io::Error)> {
    super::uring::UringEngine::new(files).map(|e| Box::new(e) as Box<dyn IoEngine>)
}

#[cfg(not(target_os = "linux"))]
fn open_uring(files: FileTable) -> Result<Box<dyn IoEngine>, (FileTable, std::io::Error)> {
    Err((files, std::io::Error::new(std::io::ErrorKind::Unsupported, "io_uring needs Linux")))
}

/// An engine over `files`: io_uring when `choice` allows and the kernel has it, positioned
/// IO otherwise. Falling back under `Auto` prints the reason once per process. Under
/// `Auto`, a table without files gets positioned IO: every request on it fails before
/// any IO, and setting up a ring for none costs a fifth of a small simulator run.
pub fn open_engine(files: FileTable, choice: EngineChoice) -> std::io::Result<Box<dyn IoEngine>> {
    open_engine_with(files, choice, open_uring)
}

fn open_engine_with(files: FileTable, choice: EngineChoice, uring: UringOpener) -> std::io::Result<Box<dyn IoEngine>> {
    if choice == EngineChoice::Positioned || (choice == EngineChoice::Auto && files.is_empty()) {
        return Ok(Box::new(PositionedEngine::new(files)));
    }
    match uring(files) {
        Ok(engine) => Ok(engine),
        Err((_, e)) if choice == EngineChoice::Uring => Err(e),
        Err((files, e)) => {
            say_fallback_once(&e.to_string());
            Ok(Box::new(PositionedEngine::new(files)))
        }
    }
}

/// How many times the fallback was announced (at most once per process).
static FALLBACK_NOTICES: AtomicUsize = AtomicUsize::new(0);

fn say_fallback_once(why: &str) {
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        FALLBACK_NOTICES.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(reason = why, "io_uring is unavailable; using positioned reads and writes");
        eprintln!("megaloop: io_uring is unavailable ({why}); using positioned reads and writes");
    });
}

#[cfg(test)]
mod fallback_tests {
    use super::*;

    fn refused(files: FileTable) -> Result<Box<dyn IoEngine>, (FileTable, std::io::Error)> {
        Err((files, std::io::Error::from_raw_os_error(1)))
    }

    fn must_not_open(_: FileTable) -> Result<Box<dyn IoEngine>, (FileTable, std::io::Error)> {
        panic!("io_uring opened for a table without files")
    }

    #[test]
    fn auto_sets_up_no_ring_for_a_table_without_files() {
        let mut engine = open_engine_with(FileTable::default(), EngineChoice::Auto, must_not_open).unwrap();
        assert_eq!(engine.name(), "positioned");
        let mut buf = [0u8; 4];
        let r = IoRequest { kind: IoKind::Read, handle: 0, offset: 0, memory: RawRegion::of(&mut buf) };
        // SAFETY: `buf` outlives the call.
        assert!(matches!(unsafe { engine.submit(&[r]) }[0], Err(IoFailure::BadHandle(0))));
    }

    #[test]
    fn without_io_uring_auto_falls_back_saying_so_once_and_uring_fails() {
        let path = std::env::temp_dir().join(format!("megaloop-fallback-{}.bin", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        for _ in 0..3 {
            let mut files = FileTable::default();
            files.register(&path).unwrap();
            let mut engine = open_engine_with(files, EngineChoice::Auto, refused).unwrap();
            assert_eq!(engine.name(), "positioned");
            let mut buf = [0u8; 4];
            let r = IoRequest { kind: IoKind::Read, handle: 0, offset: 3, memory: RawRegion::of(&mut buf) };
            // SAFETY: `buf` outlives the call.
            assert_eq!(unsafe { engine.submit(&[r]) }[0].as_ref().ok(), Some(&4));
            assert_eq!(&buf, b"3456", "the fallback engine reads the same files");
        }
        assert_eq!(FALLBACK_NOTICES.load(Ordering::Relaxed), 1, "said once, not per engine");
        let e = open_engine_with(FileTable::default(), EngineChoice::Uring, refused).err().unwrap();
        assert_eq!(e.raw_os_error(), Some(1), "an explicit io_uring choice reports why it failed");
    }
}
