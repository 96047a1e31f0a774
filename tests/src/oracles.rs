//! Oracles: what the fuzz targets check, as plain library functions over bytes, so the
//! targets in `fuzz/` are one line of glue and `cargo test` replays every saved
//! regression (`fuzz/regressions/<target>/`) and runs seeded smoke inputs through the
//! same code.
//!
//! A failed oracle returns a [`Failure`]; where a workload was involved it carries the
//! case, which [`Failure::save`] writes as a file `megaloop diff --workload FILE` replays.

use crate::diff::{diff_case, run_case_on, word_invariants};
use crate::engine::{Engine, Instance};
use crate::generate::{Case, InitialStatus};
use arbitrary::{Arbitrary, Unstructured};
use megaloop::builder::Mode;
use megaloop::host::workload::{OpcodeSpec, SlotSpec, TenantSpec, Workload};
use megaloop::ir::{print, validate, Program};
use megaloop::protocol::control::Control;
use megaloop::protocol::debug_log::DebugLog;
use megaloop::protocol::error::words_from_le_bytes;
use megaloop::protocol::io_queue::{decode_io_queue, encode_io_queue};
use megaloop::protocol::packed::{decode_packed, encode_packed};
use megaloop::protocol::replay::RingLog;
use megaloop::protocol::ring::{decode_ring, encode_ring};
use megaloop::protocol::Status;
use std::path::{Path, PathBuf};

/// An oracle that did not hold.
#[derive(Debug)]
pub struct Failure {
    /// What did not hold.
    pub message: String,
    /// The case that shows it, when there is one.
    pub case: Option<Box<Case>>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), case: None }
    }

    fn with_case(message: impl Into<String>, case: &Case) -> Failure {
        Failure { message: message.into(), case: Some(Box::new(case.clone())) }
    }

    /// Save the case (if any) into `dir` and return the message with the command that
    /// replays it.
    pub fn save(&self, dir: &Path) -> String {
        match &self.case {
            None => self.message.clone(),
            Some(case) => match case.save(dir) {
                Ok(path) => {
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    format!("{}\nreplay: megaloop diff --workload {}", self.message, path.display())
                }
                Err(e) => format!("{}\n(could not save the case to {}: {e})", self.message, dir.display()),
            },
        }
    }
}

/// Where fuzz targets save failing cases: `MEGALOOP_CASE_DIR`, else the workspace's
/// `fuzz/cases` (found from this crate's source, not the working directory: cargo fuzz
/// runs targets inside `fuzz/`, where a relative `fuzz/cases` named `fuzz/fuzz/cases`).
pub fn case_dir() -> PathBuf {
    std::env::var_os("MEGALOOP_CASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fuzz").join("cases"))
}

/// An oracle over bytes.
pub type Oracle = fn(&[u8]) -> Result<(), Failure>;

/// Every oracle, by fuzz target name.
pub const TARGETS: [(&str, Oracle); 7] = [
    ("decode", decode),
    ("validate", validate_arbitrary),
    ("slot_stream", slot_stream),
    ("sim_schedules", sim_schedules),
    ("differential", differential),
    ("io_queue", io_queue),
    ("workload", workload_file),
];

fn roundtrip<T: PartialEq + std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    decoded: T,
    again: Result<T, E>,
) -> Result<(), Failure> {
    match again {
        Ok(back) if back == decoded => Ok(()),
        Ok(back) => Err(Failure::new(format!("{what}: decode(encode(x)) != x: {decoded:?} came back as {back:?}"))),
        Err(e) => Err(Failure::new(format!("{what}: re-encoding a decoded value failed: {e}"))),
    }
}

/// `decode`: every host-side decoder on arbitrary bytes. Decoders may refuse input but
/// never panic, and whatever decodes re-encodes to something that decodes to the same.
pub fn decode(data: &[u8]) -> Result<(), Failure> {
    let Some((&selector, rest)) = data.split_first() else { return Ok(()) };
    let words = || words_from_le_bytes("fuzz input", rest);
    match selector % 6 {
        0 => {
            if let Ok(c) = words().and_then(|w| Control::decode(&w)) {
                roundtrip("control", c.clone(), c.encode().and_then(|w| Control::decode(&w)))?;
            }
        }
        1 => {
            if let Ok(slots) = words().and_then(|w| decode_ring(&w)) {
                roundtrip("ring", slots.clone(), decode_ring(&encode_ring(&slots)))?;
            }
        }
        2 => {
            let dropped = rest.first().copied().map_or(0, u32::from);
            if let Ok(log) = words().and_then(|w| DebugLog::decode(&w, dropped)) {
                roundtrip("debug log", log.clone(), log.encode().and_then(|w| DebugLog::decode(&w, log.dropped)))?;
            }
        }
        3 => {
            if let Ok(entries) = words().and_then(|w| decode_io_queue(&w)) {
                roundtrip("IO queue", entries.clone(), encode_io_queue(&entries).and_then(|w| decode_io_queue(&w)))?;
            }
        }
        4 => {
            let mut args = [0u32; 12];
            for (k, chunk) in rest.chunks(4).take(12).enumerate() {
                let mut b = [0u8; 4];
                b[..chunk.len()].copy_from_slice(chunk);
                args[k] = u32::from_le_bytes(b);
            }
            if let Ok(ops) = decode_packed(&args) {
                roundtrip("packed slot", ops.clone(), encode_packed(&ops).and_then(|a| decode_packed(&a)))?;
            }
        }
        _ => {
            if let Ok(log) = RingLog::decode(rest) {
                roundtrip("replay log", log.clone(), RingLog::decode(&log.encode()))?;
            }
        }
    }
    Ok(())
}

/// `validate`: an arbitrary program (the `arbitrary` crate) through the validator and
/// the printer: no panic, and its JSON form round-trips.
pub fn validate_arbitrary(data: &[u8]) -> Result<(), Failure> {
    // Bytes that happen to be a JSON program are checked as one too.
    if let Ok(program) = megaloop::json::from_slice::<Program>(data) {
        check_program(&program)?;
    }
    match Program::arbitrary(&mut Unstructured::new(data)) {
        Ok(program) => check_program(&program),
        Err(_) => Ok(()),
    }
}

fn check_program(program: &Program) -> Result<(), Failure> {
    let _ = print::program(program);
    let _ = validate(program);
    let json =
        serde_json::to_string(program).map_err(|e| Failure::new(format!("a program does not serialize: {e}")))?;
    let back: Program = megaloop::json::from_str(&json)
        .map_err(|e| Failure::new(format!("a serialized program does not parse: {e}\n{json}")))?;
    if &back != program {
        return Err(Failure::new(format!("JSON round trip changed the program:\n{json}")));
    }
    Ok(())
}

/// `workload`: bytes as a workload or case file, through the reader and the checks every
/// command runs on one (`megaloop run --workload`, `diff --workload`): never a panic, a
/// hang or a stack overflow; a workload that reads loads in every mode or says why, and
/// its JSON form reads back to the same workload.
pub fn workload_file(data: &[u8]) -> Result<(), Failure> {
    if let Ok(case) = megaloop::json::from_slice::<Case>(data) {
        let _ = case.workload.ring(case.workload.build_options(case.mode), 1);
    }
    let Ok(workload) = megaloop::json::from_slice::<Workload>(data) else { return Ok(()) };
    for mode in Mode::ALL {
        let _ = workload.ring(workload.build_options(mode), 1);
    }
    let json =
        serde_json::to_string(&workload).map_err(|e| Failure::new(format!("a workload does not serialize: {e}")))?;
    let back: Workload = megaloop::json::from_str(&json)
        .map_err(|e| Failure::new(format!("a serialized workload does not read back: {e}\n{json}")))?;
    if back != workload {
        return Err(Failure::new(format!("JSON round trip changed the workload:\n{json}")));
    }
    Ok(())
}

/// Slots of a `slot_stream` case: few, so the simulator's programs stay small and
/// their compilation is cached.
pub const STREAM_SLOTS: usize = 12;

/// Read a u32 from the stream (zero once it runs out).
fn take(u: &mut Unstructured) -> u32 {
    u32::arbitrary(u).unwrap_or(0)
}

/// A case from arbitrary bytes: any status, opcode, tenant, priority and arguments.
pub fn stream_case(data: &[u8]) -> Case {
    let mut u = Unstructured::new(data);
    let head = take(&mut u);
    let mode = Mode::ALL[head as usize % Mode::ALL.len()];
    let masks = take(&mut u);
    let tenants = (0..4).map(|id| TenantSpec { id, mask: (masks >> (8 * id)) & 0xFF }).collect();
    let mut slots = Vec::new();
    let mut initial_status = Vec::new();
    for i in 0..STREAM_SLOTS {
        let word = take(&mut u);
        // Small opcodes and tenants are the interesting ones; the top bits let any value in.
        let opcode = if word & 0x80 != 0 {
            take(&mut u)
        } else {
            [0, 1, 2, 3, 4, 5, 7, LOAD_MISS_OP, PRINTF_OP, PACKED_OP, SHUTDOWN_OP, 0x1234][(word % 12) as usize]
        };
        let tenant = if word & 0x100 != 0 { take(&mut u) } else { (word >> 9) % 5 };
        let priority = (word >> 12) % 8;
        let args = (0..((word >> 15) % 13)).map(|_| take(&mut u) % 300).collect();
        slots.push(SlotSpec { opcode: OpcodeSpec::Number(opcode), tenant, priority, args });
        if word & 0x0010_0000 != 0 {
            let status = Status::from_word((word >> 24) % 8).unwrap_or(Status::Published);
            initial_status.push(InitialStatus { slot: i, status });
        }
    }
    Case {
        seed: None,
        mode,
        workgroup_size: 1 + head % 4,
        workgroups: 1,
        workload: Workload {
            name: "slot-stream".into(),
            tenants,
            heap_words: 256,
            heap_init: vec![],
            files: vec![],
            io_entries: None,
            handlers: vec![],
            slots,
        },
        initial_status,
        fuel: Some(1 + head % 64),
        max_epochs: None,
    }
}

const LOAD_MISS_OP: u32 = megaloop::protocol::opcode::LOAD_MISS;
const PRINTF_OP: u32 = megaloop::protocol::opcode::PRINTF;
const PACKED_OP: u32 = megaloop::protocol::opcode::PACKED_SLOT;
const SHUTDOWN_OP: u32 = megaloop::protocol::opcode::SHUTDOWN;

/// `slot_stream`: an arbitrary slot stream on the parallel simulator in its mode (one
/// workgroup of 1 to 4 lanes: cheap enough for libFuzzer's pace; interleavings are
/// loom's and the differential generators' job).
/// No error; no denied or out-of-range tenant ever runs; a slot not PUBLISHED, YIELD or
/// REQUEUE at the start is never touched; DONE_COUNT and FAULT_COUNT equal the slots
/// that became DONE and FAULT; every claim settled once (claims per tenant, claims per
/// priority and executions per opcode bucket all sum to the same); no slot's payload
/// changes except a LOAD_MISS slot's IO state word; a small fuel is an outcome, never a
/// hang.
pub fn slot_stream(data: &[u8]) -> Result<(), Failure> {
    thread_local! {
        // Kept across inputs: the simulator reuses the code it compiled last.
        static SIM: std::cell::RefCell<Instance> = std::cell::RefCell::new(Instance::new(Engine::SimParallel));
    }
    let case = stream_case(data);
    let fail = |m: String| Failure::with_case(m, &case);
    let (run, _) = SIM
        .with(|sim| run_case_on(&mut sim.borrow_mut(), &case))
        .map_err(|e| fail(format!("the simulator failed: {e}")))?;
    let before = case.workload.ring_slots().map_err(|e| fail(e.to_string()))?;
    let mut initial: Vec<Status> = vec![Status::Published; before.len()];
    for s in &case.initial_status {
        initial[s.slot] = s.status;
    }
    let after = run.ring.slots().map_err(|e| fail(e.to_string()))?;
    let c = run.ring.control().map_err(|e| fail(e.to_string()))?;
    let authorised = |t: u32| c.tenant_authorised(t);
    let mut became = [0u32; 8];
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let runnable = matches!(initial[i], Status::Published | Status::Yield | Status::Requeue);
        if !authorised(b.tenant) && initial[i] == Status::Published && a.status != Status::Published {
            return Err(fail(format!("slot {i} of denied tenant {} changed to {}", b.tenant, a.status)));
        }
        if !runnable && a.status != initial[i] {
            return Err(fail(format!("slot {i} started {} (not runnable) and ended {}", initial[i], a.status)));
        }
        let mut payload = a.clone();
        if b.opcode == LOAD_MISS_OP {
            payload.args[5] = b.args[5];
        }
        if (payload.opcode, payload.tenant, payload.priority, payload.args) != (b.opcode, b.tenant, b.priority, b.args)
        {
            return Err(fail(format!("slot {i}'s payload changed: {b:?} became {a:?}")));
        }
        if runnable {
            became[a.status.word() as usize] += 1;
        }
    }
    for t in 0..c.tenant_fairness.len() as u32 {
        if !authorised(t) && c.tenant_fairness[t as usize] != 0 {
            return Err(fail(format!("denied tenant {t} has {} claims", c.tenant_fairness[t as usize])));
        }
    }
    if c.done_count != became[Status::Done.word() as usize] {
        return Err(fail(format!("DONE_COUNT {} but {} slots became DONE", c.done_count, became[3])));
    }
    if c.fault_count != became[Status::Fault.word() as usize] {
        return Err(fail(format!("FAULT_COUNT {} but {} slots became FAULT", c.fault_count, became[7])));
    }
    let claims: u64 = c.tenant_fairness.iter().map(|&x| u64::from(x)).sum();
    let by_priority: u64 = c.priority_claims.iter().map(|&x| u64::from(x)).sum();
    let settles: u64 = c.metrics.iter().map(|&x| u64::from(x)).sum();
    if claims != by_priority || claims != settles {
        return Err(fail(format!("claims {claims}, claims by priority {by_priority}, settles {settles}: not equal")));
    }
    // A small fuel may leave slots runnable after the last epoch: an outcome, not a bug.
    let broken = word_invariants(&run);
    if !broken.is_empty() {
        return Err(fail(broken.join("; ")));
    }
    Ok(())
}

/// The generated case a fuzz input selects (its first 8 bytes are the seed).
pub fn seeded_case(data: &[u8]) -> Case {
    let mut seed = [0u8; 8];
    let n = data.len().min(8);
    seed[..n].copy_from_slice(&data[..n]);
    Case::from_seed(u64::from_le_bytes(seed))
}

/// `sim_schedules`: a generated case on the parallel and the deterministic simulator
/// (seeded by the input) agrees on every schedule-independent word.
pub fn sim_schedules(data: &[u8]) -> Result<(), Failure> {
    let case = seeded_case(data);
    let det_seed = data.get(8..16).map_or(0, |b| b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x)));
    let mut engines = [Instance::new(Engine::SimParallel), Instance::new(Engine::SimDet { seed: det_seed })];
    agree(&case, &mut engines)
}

/// The environment variable naming the engine the `differential` target compares with the
/// simulator (default: the GPU).
pub const FUZZ_ENGINE_VAR: &str = "MEGALOOP_FUZZ_ENGINE";

/// `differential`: a generated case on the simulator and the GPU backend (lavapipe
/// where there is no GPU) agrees on every schedule-independent word. Without any GPU
/// adapter it compares the two simulator schedules instead.
pub fn differential(data: &[u8]) -> Result<(), Failure> {
    // The simulator and the GPU instance, once per thread and never dropped: the device
    // lives as long as the fuzzing process (dropping a device from a thread-local
    // destructor at exit is not allowed to fail, and wgpu's may).
    thread_local! {
        static ENGINES: std::cell::RefCell<Option<&'static mut [Instance; 2]>> = const { std::cell::RefCell::new(None) };
    }
    let case = seeded_case(data);
    ENGINES.with(|engines| {
        let mut engines = engines.borrow_mut();
        let engines = engines.get_or_insert_with(|| {
            // `MEGALOOP_FUZZ_ENGINE` names the engine compared with the simulator (an
            // external runtime: `exec:./my-runtime`); by default the GPU.
            let other = match std::env::var(FUZZ_ENGINE_VAR) {
                Ok(name) => match name.parse::<Engine>().and_then(|e| {
                    let instance = Instance::new(e);
                    instance.backend.as_ref().map_err(Clone::clone)?;
                    Ok(instance)
                }) {
                    Ok(instance) => instance,
                    Err(e) => {
                        eprintln!("differential: {FUZZ_ENGINE_VAR}={name}: {e}");
                        std::process::exit(2);
                    }
                },
                Err(_) => {
                    let gpu = Instance::new(Engine::Gpu { adapter: None });
                    if gpu.backend.is_ok() {
                        gpu
                    } else {
                        eprintln!("differential: no GPU adapter at all; comparing simulator schedules only");
                        Instance::new(Engine::SimDet { seed: 1 })
                    }
                }
            };
            Box::leak(Box::new([Instance::new(Engine::SimParallel), other]))
        });
        agree(&case, &mut engines[..])
    })
}

fn agree(case: &Case, engines: &mut [Instance]) -> Result<(), Failure> {
    let report = diff_case(case, engines);
    if report.agrees() {
        Ok(())
    } else {
        Err(Failure::with_case(report.render(10), case))
    }
}

/// What a fuzz target does with an input: run the oracle and, when it fails, save the
/// case (see [`case_dir`]) and panic with the message and the replay command.
pub fn must_hold(oracle: Oracle, data: &[u8]) {
    if let Err(failure) = oracle(data) {
        panic!("{}", failure.save(&case_dir()));
    }
}

/// Run `oracle` on every file of `dir` (a regressions folder); the failures, named by
/// file.
pub fn replay_dir(dir: &Path, oracle: Oracle) -> Result<usize, Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(0) };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        match std::fs::read(path) {
            Err(e) => failures.push(format!("{}: {e}", path.display())),
            Ok(data) => {
                if let Err(f) = oracle(&data) {
                    failures.push(format!("{}: {}", path.display(), f.message));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(paths.len())
    } else {
        Err(failures)
    }
}

/// A small file every `io_queue` input reads (64 known bytes), and one it may write.
fn io_files() -> &'static (PathBuf, PathBuf) {
    static FILES: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("megaloop-io-oracle-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let (input, output) = (dir.join("input.bin"), dir.join("output.bin"));
        let _ = std::fs::write(&input, megaloop::host::workload::generated_bytes(64, 9));
        (input, output)
    })
}

/// The IO queue service between epochs, on arbitrary queue contents: any mix of entries
/// (ops, handles, offsets, sizes, heap ranges, tags, statuses, below and past the cursor)
/// and of slots (parked or not, any opcode, matching their entry or not). Checks: no
/// panic; every entry REQUESTED below the cursor is completed exactly once (one
/// completion, the entry freed); the cursor is reset; a slot tagged by exactly one
/// completed entry that was parked WAIT_IO is re-published with `arg5` = that entry's
/// status, and no other slot's status changes; a READ that completed OK and overlaps no
/// other request left the file's bytes, zero-padded, in the heap.
pub fn io_queue(data: &[u8]) -> Result<(), Failure> {
    use megaloop::builder::BuildOptions;
    use megaloop::host::io::buffer_index::*;
    use megaloop::host::io::{FileAccess, FileTable, IoQueueService, PositionedEngine};
    use megaloop::protocol::layout::IO_STATUS_REQUESTED;
    use megaloop::protocol::layout::*;
    const SLOTS: usize = 8;
    const HEAP_WORDS: u32 = 64;
    let mut u = Unstructured::new(data);
    let (input, output) = io_files();
    let mut opts = BuildOptions::new(Mode::Persistent, SLOTS as u32);
    opts.heap_words = HEAP_WORDS;
    let ring = megaloop::host::ring::Ring::new(opts.clone(), 1).map_err(|e| Failure::new(e.to_string()))?;
    let mut buffers = ring.buffers().to_vec();
    // Not zero, so a READ that leaves its padding or tail unwritten is seen.
    buffers[HEAP].fill(0xA5A5_A5A5);
    let small = |u: &mut Unstructured, max: u32| -> u32 {
        let pick: u8 = u.arbitrary().unwrap_or(0);
        if pick < 200 {
            u.int_in_range(0..=max).unwrap_or(0)
        } else {
            u.arbitrary().unwrap_or(u32::MAX)
        }
    };
    for slot in 0..SLOTS {
        let base = slot * SLOT_WORDS as usize;
        let parked: bool = u.arbitrary().unwrap_or(true);
        buffers[RING][base] = if parked { Status::WaitIo.word() } else { small(&mut u, 7) };
        buffers[RING][base + 1] = if u.arbitrary().unwrap_or(true) { LOAD_MISS_OP } else { small(&mut u, 300) };
        // LOAD_MISS's arguments, mostly in range: handle, offset lo/hi, bytes, heap word, state.
        for (k, max) in [2, 70, 0, 40, 70, 0].into_iter().enumerate() {
            buffers[RING][base + SLOT_ARG0 as usize + k] = small(&mut u, max);
        }
    }
    let cursor = small(&mut u, 10);
    buffers[CONTROL][CTRL_IO_CURSOR as usize] = cursor;
    let mut requested = Vec::new();
    for e in 0..u.int_in_range(0..=10usize).unwrap_or(0) {
        let w = &mut buffers[IO_QUEUE][e * IO_ENTRY_WORDS as usize..(e + 1) * IO_ENTRY_WORDS as usize];
        let tag = small(&mut u, SLOTS as u32 - 1);
        let copy_slot: bool = u.arbitrary().unwrap_or(true);
        for word in w.iter_mut() {
            *word = small(&mut u, 80);
        }
        w[IO_TAG as usize] = tag;
        if copy_slot && (tag as usize) < SLOTS {
            let base = tag as usize * SLOT_WORDS as usize + SLOT_ARG0 as usize;
            let args = &buffers[RING][base..base + 5];
            let args: Vec<u32> = args.to_vec();
            let w = &mut buffers[IO_QUEUE][e * IO_ENTRY_WORDS as usize..(e + 1) * IO_ENTRY_WORDS as usize];
            w[IO_OP_TYPE as usize] = u.int_in_range(1..=3).unwrap_or(1);
            for (field, arg) in
                [(IO_SRC_HANDLE, 0), (IO_OFFSET_LO, 1), (IO_OFFSET_HI, 2), (IO_BYTE_COUNT, 3), (IO_DST_HANDLE, 4)]
            {
                w[field as usize] = args[arg];
            }
        }
        let w = &mut buffers[IO_QUEUE][e * IO_ENTRY_WORDS as usize..(e + 1) * IO_ENTRY_WORDS as usize];
        if u.arbitrary().unwrap_or(true) {
            w[IO_STATUS as usize] = IO_STATUS_REQUESTED;
        }
        if w[IO_STATUS as usize] == IO_STATUS_REQUESTED && (e as u32) < cursor.min(IO_ENTRIES) {
            requested.push(e);
        }
    }
    let before = buffers.clone();
    let mut files = FileTable::default();
    files.register(input).map_err(|e| Failure::new(e.to_string()))?;
    files.register_with(output, FileAccess::ReadWrite).map_err(|e| Failure::new(e.to_string()))?;
    let mut service = IoQueueService::new(PositionedEngine::new(files), HEAP_WORDS);
    service.end_epoch(&megaloop::host::HostBuffers::new(&mut buffers));

    let input_bytes = std::fs::read(input).map_err(|e| Failure::new(e.to_string()))?;
    let entry = |b: &[Vec<u32>], e: usize, k: u32| b[IO_QUEUE][e * IO_ENTRY_WORDS as usize + k as usize];
    let fail =
        |m: String| Failure::new(format!("{m}\n(queue before: cursor {cursor}, requested entries {requested:?})"));
    if service.completions.len() != requested.len() {
        return Err(fail(format!(
            "{} completions for {} requested entries",
            service.completions.len(),
            requested.len()
        )));
    }
    if buffers[CONTROL][CTRL_IO_CURSOR as usize] != 0 {
        return Err(fail("the IO cursor was not reset between epochs".into()));
    }
    for &e in &requested {
        if (0..IO_ENTRY_WORDS).any(|k| entry(&buffers, e, k) != 0) {
            return Err(fail(format!("requested entry {e} was not completed and freed")));
        }
    }
    for e in 0..IO_ENTRIES as usize {
        if !requested.contains(&e) && (0..IO_ENTRY_WORDS).any(|k| entry(&buffers, e, k) != entry(&before, e, k)) {
            let status = entry(&before, e, IO_STATUS);
            if status != IO_STATUS_OK && status != IO_STATUS_ERROR || e as u32 >= cursor.min(IO_ENTRIES) {
                return Err(fail(format!("entry {e} (not requested, status {status}) changed")));
            }
        }
    }
    let tagged = |slot: usize| requested.iter().filter(|&&e| entry(&before, e, IO_TAG) as usize == slot).count();
    let completion = |e: usize| service.completions.iter().find(|c| c.entry as usize == e);
    for slot in 0..SLOTS {
        let base = slot * SLOT_WORDS as usize;
        let (was, now) = (before[RING][base], buffers[RING][base]);
        let arg5 = buffers[RING][base + SLOT_ARG0 as usize + 5];
        let parked = was == Status::WaitIo.word();
        let tags = tagged(slot);
        if parked && tags == 1 {
            let e = requested.iter().copied().find(|&e| entry(&before, e, IO_TAG) as usize == slot).unwrap_or(0);
            let want = completion(e).map(|c| if c.is_ok() { IO_STATUS_OK } else { IO_STATUS_ERROR });
            if now != Status::Published.word() || Some(arg5) != want {
                return Err(fail(format!(
                    "slot {slot} (entry {e}) ended status {now} arg5 {arg5}, expected PUBLISHED {want:?}"
                )));
            }
        } else if parked && tags > 1 && now != Status::Published.word() {
            return Err(fail(format!("slot {slot}, parked and tagged by {tags} requests, was not re-published")));
        } else if (!parked || tags == 0) && now != was {
            return Err(fail(format!("slot {slot} (parked {parked}, tagged by {tags}) changed status {was} -> {now}")));
        }
    }
    // Data of an OK READ whose heap range no other request touches.
    let range = |b: &[Vec<u32>], e: usize| {
        let start = entry(b, e, IO_DST_HANDLE) as u64;
        (start, start + u64::from(entry(b, e, IO_BYTE_COUNT)).div_ceil(4))
    };
    for &e in &requested {
        let Some(c) = completion(e) else {
            return Err(fail(format!("requested entry {e} has no completion")));
        };
        if !c.is_ok() || entry(&before, e, IO_OP_TYPE) != IO_OP_READ || entry(&before, e, IO_SRC_HANDLE) != 0 {
            continue;
        }
        let (start, end) = range(&before, e);
        if requested.iter().any(|&o| o != e && range(&before, o).0 < end && start < range(&before, o).1) {
            continue;
        }
        let offset = (entry(&before, e, IO_OFFSET_LO) as usize).min(input_bytes.len());
        let n = (entry(&before, e, IO_BYTE_COUNT) as usize).min(input_bytes.len() - offset);
        let mut want = input_bytes[offset..offset + n].to_vec();
        want.resize((end - start) as usize * 4, 0);
        let got: Vec<u8> = buffers[HEAP][start as usize..end as usize].iter().flat_map(|w| w.to_le_bytes()).collect();
        let moved = c.bytes().unwrap_or(0);
        if got != want || moved as usize != n {
            return Err(fail(format!(
                "entry {e}: READ reported {moved} bytes (expected {n}); heap {got:?}, file {want:?}"
            )));
        }
    }
    Ok(())
}
