//! Engine tests on real files: io_uring and positioned IO give the same results for
//! reads (whole, short at the end, at the end, past the end), writes, fences, bad handles,
//! unavailable files and batches larger than the submission queue.

use super::*;
use std::path::PathBuf;

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("megaloop-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// A table with `path` registered for reading as handle 0.
fn reading(path: &std::path::Path) -> FileTable {
    let mut t = FileTable::default();
    t.register(path).unwrap();
    t
}

/// io_uring reading `path`, or `None` (saying why) where the kernel has none.
#[cfg(target_os = "linux")]
fn uring_reading(path: &std::path::Path) -> Option<uring::UringEngine> {
    uring::UringEngine::new(reading(path)).map_err(|(_, e)| println!("SKIPPED: io_uring unavailable ({e})")).ok()
}

/// Every engine this machine has, over fresh tables made by `files`.
fn engines(files: impl Fn() -> FileTable) -> Vec<Box<dyn IoEngine>> {
    let mut out: Vec<Box<dyn IoEngine>> = vec![Box::new(PositionedEngine::new(files()))];
    match open_engine(files(), EngineChoice::Uring) {
        Ok(e) => out.push(e),
        Err(e) => println!("io_uring unavailable here ({e}); testing positioned IO only"),
    }
    out
}

fn read(buf: &mut [u8], handle: u32, offset: u64) -> IoRequest {
    IoRequest { kind: IoKind::Read, handle, offset, memory: RawRegion::of(buf) }
}

#[test]
fn reads_whole_short_at_end_and_past_end() {
    let data = content(1000);
    let path = temp("reads.bin", &data);
    for mut engine in engines(|| reading(&path)) {
        let mut bufs = [vec![0u8; 100], vec![0u8; 100], vec![0u8; 10], vec![0u8; 10], vec![0u8; 10]];
        let offsets = [0u64, 950, 1000, 1001, 0];
        let handles = [0u32, 0, 0, 0, 7];
        let batch: Vec<IoRequest> =
            bufs.iter_mut().zip(offsets).zip(handles).map(|((b, o), h)| read(b, h, o)).collect();
        // SAFETY: the buffers outlive the call and nothing else touches them.
        let results = unsafe { engine.submit(&batch) };
        let name = engine.name();
        assert_eq!(results[0].as_ref().ok(), Some(&100), "{name}");
        assert_eq!(bufs[0], data[..100], "{name}");
        assert_eq!(results[1].as_ref().ok(), Some(&50), "{name}: short read at the end");
        assert_eq!(bufs[1][..50], data[950..], "{name}");
        assert_eq!(results[2].as_ref().ok(), Some(&0), "{name}: a read at the end reads nothing");
        match &results[3] {
            Err(e @ IoFailure::OffsetPastEnd { offset: 1001, len: 1000, .. }) => {
                assert_eq!(e.code(), IO_ERROR_OFFSET_PAST_END);
                assert!(e.to_string().contains("offset 1001 is past the end"), "{e}");
            }
            other => panic!("{name}: offset past the end gave {other:?}"),
        }
        assert!(matches!(results[4], Err(IoFailure::BadHandle(7))), "{name}: {:?}", results[4]);
    }
}

#[test]
fn write_fence_read_back_and_read_only_files() {
    let out = temp("written.bin", &[]);
    let ro = temp("read-only.bin", &content(16));
    for mut engine in engines(|| {
        let mut t = FileTable::default();
        t.register_with(&out, FileAccess::ReadWrite).unwrap();
        t.register(&ro).unwrap();
        t
    }) {
        let name = engine.name();
        let mut payload = content(4096);
        let mut back = vec![0u8; 4096];
        let mut refused = vec![1u8; 4];
        let batch = [
            IoRequest { kind: IoKind::Write, handle: 0, offset: 100, memory: RawRegion::of(&mut payload) },
            IoRequest::fence(),
            read(&mut back, 0, 100),
            IoRequest { kind: IoKind::Write, handle: 1, offset: 0, memory: RawRegion::of(&mut refused) },
        ];
        // SAFETY: as above.
        let results = unsafe { engine.submit(&batch) };
        assert_eq!(results[0].as_ref().ok(), Some(&4096), "{name}: write");
        assert_eq!(results[1].as_ref().ok(), Some(&0), "{name}: fence");
        assert_eq!(results[2].as_ref().ok(), Some(&4096), "{name}: the read after the fence sees the write");
        assert_eq!(back, payload, "{name}");
        assert!(matches!(results[3], Err(IoFailure::NotWritable(1))), "{name}: {:?}", results[3]);
        assert_eq!(std::fs::read(&ro).unwrap(), content(16), "{name}: the read-only file is unchanged");
        let file = std::fs::read(&out).unwrap();
        assert_eq!(file.len(), 4196);
        assert_eq!(file[100..], payload[..], "{name}");
    }
}

#[test]
fn unavailable_files_and_os_errors_fail_their_requests_only() {
    let data = content(64);
    let good = temp("good.bin", &data);
    let missing = std::env::temp_dir().join("megaloop-io-no-such-file.bin");
    let dir = std::env::temp_dir();
    for mut engine in engines(|| {
        let mut t = FileTable::default();
        assert!(t.register_or_record(&missing, FileAccess::Read).1.is_some());
        t.register(&good).unwrap();
        // A directory opens, but reading it fails in the kernel (EISDIR).
        t.register(&dir).unwrap();
        t
    }) {
        let name = engine.name();
        let (mut a, mut b, mut c) = (vec![0u8; 8], vec![0u8; 8], vec![0u8; 8]);
        let batch = [read(&mut a, 0, 0), read(&mut b, 1, 8), read(&mut c, 2, 0)];
        // SAFETY: as above.
        let results = unsafe { engine.submit(&batch) };
        match &results[0] {
            Err(e @ IoFailure::Unavailable { handle: 0, .. }) => {
                assert!(e.to_string().contains("no-such-file.bin"), "{name}: {e}");
                assert_eq!(e.code(), IO_ERROR_OS_ERROR);
            }
            other => panic!("{name}: missing file gave {other:?}"),
        }
        assert_eq!(results[1].as_ref().ok(), Some(&8), "{name}");
        assert_eq!(b, data[8..16], "{name}");
        match &results[2] {
            Err(e @ IoFailure::Os { handle: 2, .. }) => assert!(e.to_string().contains("directory"), "{name}: {e}"),
            other => panic!("{name}: reading a directory gave {other:?}"),
        }
    }
}

#[test]
fn batches_larger_than_the_queue_complete_each_request_once() {
    let data = content(300 * 64);
    let path = temp("many.bin", &data);
    for mut engine in engines(|| reading(&path)) {
        let mut area = vec![0u8; data.len()];
        let region = RawRegion::of(&mut area);
        engine.use_area(region);
        // 300 reads of 64 bytes, in reverse order, into one registered area.
        let batch: Vec<IoRequest> = (0..300u64)
            .rev()
            .map(|k| IoRequest {
                kind: IoKind::Read,
                handle: 0,
                offset: k * 64,
                memory: region.sub(k as usize * 64, 64).unwrap(),
            })
            .collect();
        // SAFETY: `area` outlives the call.
        let results = unsafe { engine.submit(&batch) };
        assert!(results.iter().all(|r| matches!(r, Ok(64))), "{}", engine.name());
        assert_eq!(area, data, "{}", engine.name());
    }
}

#[cfg(target_os = "linux")]
#[test]
fn io_uring_registers_the_area_as_a_fixed_buffer() {
    let Some(mut engine) = uring_reading(&temp("fixed.bin", &content(256))) else { return };
    let mut area = vec![0u8; 4096];
    engine.use_area(RawRegion::of(&mut area));
    if !engine.has_fixed_buffer() {
        println!("SKIPPED: the kernel refused a 4 KiB fixed buffer (RLIMIT_MEMLOCK?)");
        return;
    }
    let r = IoRequest { kind: IoKind::Read, handle: 0, offset: 0, memory: RawRegion::of(&mut area[128..384]) };
    // SAFETY: `area` outlives the call.
    let results = unsafe { engine.submit(&[r]) };
    assert_eq!(results[0].as_ref().ok(), Some(&256));
    assert_eq!(area[128..384], content(256)[..]);
}

/// Memory unmapped and mapped again at the same address (as a GPU staging buffer is
/// between epochs) is new memory: the fixed buffer must follow it. Found by the
/// `differential` smoke test: a read landed in the pages of an earlier mapping.
#[cfg(target_os = "linux")]
#[test]
fn a_remapped_area_gets_the_data_not_the_old_pages() {
    let Some(mut engine) = uring_reading(&temp("remap.bin", &content(4096))) else { return };
    let len = 1 << 16;
    let map = |at: *mut libc::c_void, flags: i32| {
        // SAFETY: an anonymous private mapping; at a fixed address only over our own.
        let p = unsafe {
            libc::mmap(
                at,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        p
    };
    let first = map(std::ptr::null_mut(), 0);
    let area = RawRegion { ptr: first.cast(), len };
    engine.use_area(area);
    // SAFETY: unmapping our own mapping, then mapping fresh pages at the same address.
    unsafe { libc::munmap(first, len) };
    let second = map(first, libc::MAP_FIXED);
    assert_eq!(second, first);
    engine.use_area(area);
    let r = IoRequest { kind: IoKind::Read, handle: 0, offset: 0, memory: area.sub(0, 4096).unwrap() };
    // SAFETY: the mapping is ours and live.
    let results = unsafe { engine.submit(&[r]) };
    assert_eq!(results[0].as_ref().ok(), Some(&4096));
    // SAFETY: reading our own mapping.
    let got = unsafe { std::slice::from_raw_parts(second as *const u8, 4096) };
    assert!(got == &content(4096)[..], "the read went to the pages of the earlier mapping");
    // SAFETY: our own mapping.
    unsafe { libc::munmap(second, len) };
}

#[test]
fn engine_choices_parse_and_positioned_is_always_there() {
    assert_eq!(EngineChoice::parse("io_uring"), Ok(EngineChoice::Uring));
    assert_eq!(EngineChoice::parse("positioned"), Ok(EngineChoice::Positioned));
    let e = EngineChoice::parse("mmap").unwrap_err();
    assert!(e.contains("`mmap`") && e.contains("expected auto, uring or positioned"), "{e}");
    let positioned = open_engine(FileTable::default(), EngineChoice::Positioned).unwrap();
    assert_eq!(positioned.name(), "positioned");
}

/// Buffers of a 4-slot ring whose slot 0 is parked WAIT_IO on LOAD_MISS with `args`, and
/// whose IO entry 0 is REQUESTED with `op` and the same fields.
fn parked_request(op: u32, args: [u32; 5]) -> Vec<Vec<u32>> {
    use crate::builder::{BuildOptions, Mode};
    use crate::protocol::io_queue::{IoEntry, IoOp};
    use crate::protocol::layout::IO_STATUS_REQUESTED;
    use crate::protocol::layout::*;
    use crate::protocol::ring::Slot;
    use buffer_index::*;
    let mut buffers =
        crate::host::ring::Ring::new(BuildOptions::new(Mode::Persistent, 4), 100).unwrap().buffers().to_vec();
    let mut slot = Slot::published(crate::protocol::opcode::LOAD_MISS, 0, 0, &args).unwrap();
    slot.status = crate::protocol::Status::WaitIo;
    buffers[RING][..SLOT_WORDS as usize].copy_from_slice(&slot.words());
    // An op word the codec does not know is written raw (the service must refuse it).
    let entry = IoEntry {
        op: IoOp::from_wire(op).unwrap_or(IoOp::None),
        src: args[0],
        dst: args[4],
        offset: u64::from(args[1]) | u64::from(args[2]) << 32,
        byte_count: args[3],
        status: IO_STATUS_REQUESTED,
        tag: 0,
    };
    buffers[IO_QUEUE][..IO_ENTRY_WORDS as usize].copy_from_slice(&entry.words());
    buffers[IO_QUEUE][IO_OP_TYPE as usize] = op;
    buffers[CONTROL][CTRL_IO_CURSOR as usize] = 1;
    buffers
}

/// Serve `buffers` between epochs; the one completion, and the slot's (status, arg5).
fn serve(mut buffers: Vec<Vec<u32>>) -> (IoCompletion, (u32, u32)) {
    use crate::protocol::layout::*;
    let files = reading(&temp("served.bin", &content(64)));
    let heap_words = buffers[buffer_index::HEAP].len() as u32;
    let mut service = IoQueueService::new(PositionedEngine::new(files), heap_words);
    service.end_epoch(&crate::host::HostBuffers::new(&mut buffers));
    assert_eq!(service.completions.len(), 1, "exactly one completion: {:?}", service.completions);
    let ring = &buffers[buffer_index::RING];
    (service.completions[0].clone(), (ring[0], ring[SLOT_ARG0 as usize + 5]))
}

#[test]
fn a_destination_outside_the_heap_completes_with_error() {
    use crate::protocol::layout::*;
    let heap = crate::builder::DEFAULT_HEAP_WORDS;
    let (c, slot) = serve(parked_request(IO_OP_READ, [0, 0, 0, 16, heap - 2]));
    assert_eq!(c.error_code(), Some(IO_ERROR_BAD_DESTINATION));
    let message = c.message().unwrap().to_string();
    assert!(message.contains(&format!("heap range [{}, {} + 4 words)", heap - 2, heap - 2)), "{message}");
    assert!(message.contains("outside the heap"), "{message}");
    assert_eq!(slot, (crate::protocol::Status::Published.word(), IO_STATUS_ERROR), "re-published with ERROR");
}

#[test]
fn entries_that_never_match_their_slot_are_refused_between_epochs() {
    use crate::protocol::layout::*;
    // An unknown OP_TYPE: the entry cannot match LOAD_MISS's READ.
    let (c, slot) = serve(parked_request(9, [0, 0, 0, 4, 8]));
    assert_eq!(c.error_code(), Some(IO_ERROR_UNSUPPORTED_OP));
    assert!(c.message().unwrap().contains("IO op 9 is not READ (1), WRITE (2) or FENCE (3)"));
    assert_eq!(slot, (crate::protocol::Status::Published.word(), IO_STATUS_ERROR));
    // A WRITE entry for a LOAD_MISS slot.
    let (c, _) = serve(parked_request(IO_OP_WRITE, [0, 0, 0, 4, 8]));
    assert_eq!(c.error_code(), Some(IO_ERROR_MISMATCHED_ENTRY));
    // A matching READ is served.
    let (c, slot) = serve(parked_request(IO_OP_READ, [0, 4, 0, 8, 8]));
    assert_eq!(c.result, crate::host::io::IoResult::Moved { bytes: 8 });
    assert_eq!(slot, (crate::protocol::Status::Published.word(), IO_STATUS_OK));
}
