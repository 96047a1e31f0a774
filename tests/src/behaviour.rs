//! Behavioural checks of the protocol that every backend must pass: each built-in
//! opcode's exact effect, exactly-once claiming, tenant denial, priority order and the
//! starvation bound, shutdown, the drain target, and fuel exhaustion. Each check takes any
//! [`Backend`] and returns a message saying what differed.

use megaloop::builder::{Mode, UserHandler};
use megaloop::host::io::buffer_index::CONTROL;
use megaloop::host::io::IoCompletion;
use megaloop::host::ring::Ring;
use megaloop::host::runner::{prepare, run_workload, RunConfig, WorkloadRun};
use megaloop::host::workload::{FileSpec, HeapInit, OpcodeSpec, SlotSpec, TenantSpec, Workload};
use megaloop::host::{Backend, Outcome};
use megaloop::ir::build::stmt::{atomic, store};
use megaloop::ir::{AtomicOp, Expr};
use megaloop::protocol::layout::*;
use megaloop::protocol::opcode::*;
use megaloop::protocol::packed::{encode_packed, PackedOp};
use megaloop::protocol::Status;

/// The result of a check: `Err` says what differed.
pub type Check = Result<(), String>;

macro_rules! expect_eq {
    ($what:expr, $got:expr, $want:expr) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err(format!("{}: got {:?}, expected {:?}", $what, got, want));
        }
    }};
}

fn slot(op: u32, tenant: u32, priority: u32, args: &[u32]) -> SlotSpec {
    SlotSpec { opcode: OpcodeSpec::Number(op), tenant, priority, args: args.to_vec() }
}

fn workload(name: &str, slots: Vec<SlotSpec>) -> Workload {
    Workload {
        name: name.into(),
        tenants: vec![TenantSpec { id: 0, mask: 1 }, TenantSpec { id: 1, mask: 1 }],
        heap_words: 256,
        heap_init: vec![],
        files: vec![],
        io_entries: None,
        handlers: vec![],
        slots,
    }
}

fn run(backend: &mut dyn Backend, w: &Workload, config: &RunConfig) -> Result<WorkloadRun, String> {
    run_workload(w, backend, config).map_err(|e| format!("{}: {e}", w.name))
}

fn statuses(ring: &Ring) -> Result<Vec<Status>, String> {
    Ok(ring.slots().map_err(|e| e.to_string())?.iter().map(|s| s.status).collect())
}

fn small(mode: Mode) -> RunConfig {
    let mut c = RunConfig::new(mode);
    c.workgroup_size = 8;
    c.max_workgroups = 2;
    c
}

/// Every built-in opcode's exact effect on every buffer, in `mode`.
pub fn opcode_effects(backend: &mut dyn Backend, mode: Mode) -> Check {
    let config = small(mode);
    let packed_ok = encode_packed(&[
        PackedOp { opcode: STORE_U32, addr: 40, value: 5 },
        PackedOp { opcode: ATOMIC_ADD, addr: 41, value: 3 },
        PackedOp { opcode: ATOMIC_ADD, addr: 41, value: 4 },
    ])
    .map_err(|e| e.to_string())?;
    let mut packed_bad = packed_ok;
    packed_bad[5] = (MEMCPY << megaloop::protocol::packed::PACKED_OP_SHIFT) | 42;
    let mut w = workload(
        "opcodes",
        vec![
            slot(NOP, 0, 0, &[]),
            slot(STORE_U32, 0, 0, &[5, 77]),
            slot(STORE_U32, 0, 0, &[256, 1]),
            slot(ATOMIC_ADD, 0, 0, &[2, 3]),
            slot(ATOMIC_ADD, 1, 0, &[2, 4]),
            slot(LOAD_U32, 0, 0, &[9, 4]),
            slot(LOAD_U32, 0, 0, &[9, DEFAULT_OBSERVABLES]),
            slot(COMPARE_SWAP, 0, 0, &[3, 5, 9, 1]),
            slot(COMPARE_SWAP, 0, 0, &[7, 4, 8, 2]),
            slot(MEMCPY, 0, 0, &[20, 10, 3]),
            slot(MEMCPY, 0, 0, &[250, 10, 7]),
            slot(MEMCPY, 0, 0, &[0, 10, MEMCPY_MAX_WORDS + 1]),
            slot(BATCH_FENCE, 0, 0, &[7]),
            slot(BATCH_FENCE, 0, 0, &[3]),
            slot(PRINTF, 0, 0, &[11, 12, 13]),
            slot(PACKED_SLOT, 0, 0, &packed_ok),
            slot(PACKED_SLOT, 0, 0, &packed_bad),
            slot(0x4242, 0, 0, &[]),
            slot(LOAD_MISS, 0, 0, &[0, 4, 0, 8, 60, 0]),
            slot(LOAD_MISS, 0, 0, &[9, 0, 0, 8, 62, 0]),
            slot(LOAD_MISS, 0, 0, &[0, 0, 0, 8, 255, 0]),
        ],
    );
    w.heap_init = vec![
        HeapInit { at: 3, words: vec![5] },
        HeapInit { at: 7, words: vec![5] },
        HeapInit { at: 9, words: vec![123] },
        HeapInit { at: 10, words: vec![1, 2, 3] },
    ];
    w.files = vec![FileSpec::Generated { len: 64, seed: 7 }];
    let r = run(backend, &w, &config)?;
    use Status::*;
    expect_eq!(
        "statuses",
        statuses(&r.ring)?,
        vec![
            Done, Done, Fault, Done, Done, Done, Fault, Done, Done, Done, Fault, Fault, Done, Done, Done, Done, Fault,
            Fault, Done, Fault, Fault
        ]
    );
    let heap = r.ring.heap();
    let c = r.ring.control().map_err(|e| e.to_string())?;
    expect_eq!("STORE_U32 heap[5]", heap[5], 77);
    expect_eq!("ATOMIC_ADD heap[2]", heap[2], 7);
    expect_eq!("LOAD_U32 observable 4", c.observables[4], 123);
    expect_eq!("COMPARE_SWAP heap[3] (matching)", heap[3], 9);
    expect_eq!("COMPARE_SWAP old value", c.observables[1], 5);
    expect_eq!("COMPARE_SWAP heap[7] (not matching)", heap[7], 5);
    expect_eq!("COMPARE_SWAP old value (not matching)", c.observables[2], 5);
    expect_eq!("MEMCPY heap[20..23]", heap[20..23].to_vec(), vec![1, 2, 3]);
    expect_eq!("BATCH_FENCE epoch", c.epoch, 7);
    let log = r.ring.debug_log().map_err(|e| e.to_string())?;
    expect_eq!("PRINTF record", log.records, vec![[14, 11, 12, 13]]);
    expect_eq!("PACKED_SLOT effects", heap[40..43].to_vec(), vec![5, 7, 0]);
    let file = megaloop::host::workload::generated_bytes(64, 7);
    let want: Vec<u32> = file[4..12].chunks(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    expect_eq!("LOAD_MISS data in heap[60..62]", heap[60..62].to_vec(), want);
    expect_eq!("heap[62..64] after a failed LOAD_MISS", heap[62..64].to_vec(), vec![0, 0]);
    expect_eq!(
        "IO completions (ok, error)",
        (r.io.iter().filter(|c| c.is_ok()).count(), r.io.iter().filter(|c| !c.is_ok()).count()),
        (1, 1)
    );
    expect_eq!("DONE_COUNT", c.done_count, 13);
    expect_eq!("FAULT_COUNT", c.fault_count, 8);
    expect_eq!("metrics[NOP]", c.metrics[0], 1);
    expect_eq!("metrics[STORE_U32 and PACKED_SLOT share bucket 1]", c.metrics[1], 4);
    expect_eq!("metrics[LOAD_MISS] (each claim counts)", c.metrics[(LOAD_MISS % 32) as usize], 5);
    expect_eq!("claims of tenant 1", c.tenant_fairness[1], 1);
    expect_eq!("claims at CRITICAL", c.priority_claims[0], 23);
    // SHUTDOWN: alone, then the host sees it and clears it.
    let r = run(backend, &workload("shutdown", vec![slot(SHUTDOWN, 0, 0, &[])]), &config)?;
    expect_eq!("SHUTDOWN seen by the host", r.epochs.first().map(|e| e.shutdown), Some(true));
    expect_eq!("SHUTDOWN slot", statuses(&r.ring)?, vec![Done]);
    // PRINTF past capacity: 64 records written, the rest counted as dropped.
    let r = run(backend, &workload("printf", (0..70).map(|i| slot(PRINTF, 0, 0, &[i])).collect()), &config)?;
    let log = r.ring.debug_log().map_err(|e| e.to_string())?;
    expect_eq!("PRINTF records written, dropped", (log.records.len(), log.dropped), (64, 6));
    Ok(())
}

/// 10,000 ATOMIC_ADD slots each add 1 to their own heap word: every word must be 1.
pub fn exactly_once(backend: &mut dyn Backend, mode: Mode, slots: u32) -> Check {
    let mut w = workload("exactly-once", (0..slots).map(|i| slot(ATOMIC_ADD, 0, i % 5, &[i, 1])).collect());
    w.heap_words = slots;
    let r = run(backend, &w, &RunConfig::new(mode))?;
    let c = r.ring.control().map_err(|e| e.to_string())?;
    if let Some(i) = r.ring.heap().iter().position(|&x| x != 1) {
        return Err(format!(
            "{} mode: heap[{i}] = {} (slot {i} ran {} times)",
            mode.name(),
            r.ring.heap()[i],
            r.ring.heap()[i]
        ));
    }
    expect_eq!("DONE_COUNT", c.done_count, slots);
    expect_eq!("metrics[ATOMIC_ADD]", c.metrics[2], slots);
    expect_eq!("claims", c.tenant_fairness[0], slots);
    Ok(())
}

/// Slots of a denied tenant and of an id past the mask table are never run and stay
/// PUBLISHED, unchanged, for the host.
pub fn tenant_denial(backend: &mut dyn Backend, mode: Mode) -> Check {
    let tenants = [0, 2, 29, 40, u32::MAX, 1];
    let w = workload("tenants", (0..60).map(|i| slot(STORE_U32, tenants[i % 6], 2, &[i as u32, 1])).collect());
    let r = run(backend, &w, &small(mode))?;
    let slots = r.ring.slots().map_err(|e| e.to_string())?;
    let c = r.ring.control().map_err(|e| e.to_string())?;
    for (i, s) in slots.iter().enumerate() {
        let allowed = matches!(s.tenant, 0 | 1);
        let want = if allowed { Status::Done } else { Status::Published };
        expect_eq!(format!("slot {i} (tenant {}) status", s.tenant), s.status, want);
        expect_eq!(format!("heap[{i}] (tenant {})", s.tenant), r.ring.heap()[i], u32::from(allowed));
    }
    expect_eq!(
        "claims per tenant 0, 1, 2",
        (c.tenant_fairness[0], c.tenant_fairness[1], c.tenant_fairness[2]),
        (10, 10, 0)
    );
    expect_eq!("DONE_COUNT", c.done_count, 20);
    Ok(())
}

/// A user handler that records the order in which slots are claimed:
/// `heap[1 + atomic_add(heap[0], 1)] = slot`.
pub fn order_recorder(opcode: u32) -> UserHandler {
    UserHandler {
        name: "record-order".into(),
        opcode,
        body: vec![
            atomic(AtomicOp::Add, "heap", Expr::u32(0), vec![Expr::u32(1)], Some("k")),
            store("heap", Expr::u32(1) + Expr::var("k"), Expr::var("slot")),
        ],
        io: None,
    }
}

/// Priority order and the starvation bound: with one lane, CRITICAL is claimed first,
/// and after every STARVATION_THRESHOLD urgent claims one IDLE slot is claimed; with
/// `lanes` lanes, the IDLE slot waits at most THRESHOLD + lanes claims; CRITICAL work
/// alone is never locked out by a counter past the threshold.
pub fn priority_and_starvation(backend: &mut dyn Backend, lanes: u32) -> Check {
    let mut w = workload(
        "priority",
        (0..40).map(|_| slot(0x100, 0, 0, &[])).chain((0..2).map(|_| slot(0x100, 0, 4, &[]))).collect(),
    );
    w.handlers = vec![order_recorder(0x100)];
    let mut config = RunConfig::new(Mode::Priority);
    config.workgroup_size = 1;
    config.max_workgroups = 1;
    let r = run(backend, &w, &config)?;
    let order = r.ring.heap()[1..43].to_vec();
    let want: Vec<u32> = (0..16).chain([40]).chain(16..32).chain([41]).chain(32..40).collect();
    expect_eq!("claim order of one lane", order, want);

    let mut w =
        workload("starvation", (0..100).map(|_| slot(0x100, 0, 1, &[])).chain([slot(0x100, 0, 4, &[])]).collect());
    w.handlers = vec![order_recorder(0x100)];
    config.workgroup_size = lanes;
    let r = run(backend, &w, &config)?;
    let order = &r.ring.heap()[1..102];
    let at = order.iter().position(|&s| s == 100).ok_or("the IDLE slot was never claimed")?;
    if at as u32 > STARVATION_THRESHOLD + lanes {
        return Err(format!(
            "the IDLE slot was claimed after {at} claims; the bound is {} + {lanes}",
            STARVATION_THRESHOLD
        ));
    }

    // Only CRITICAL work and a counter far past the threshold: it must all drain.
    let mut p = prepare(&workload("locked-out", (0..40).map(|_| slot(NOP, 0, 0, &[])).collect()), &config, backend)
        .map_err(|e| e.to_string())?;
    p.ring.set_control_word(CTRL_STARVATION, 1000);
    let r = p.drain(backend, 1).map_err(|e| e.to_string())?;
    expect_eq!("CRITICAL-only work drained in one epoch", r.ring.runnable().map_err(|e| e.to_string())?, 0);
    expect_eq!("outcome", r.epochs[0].outcome, Outcome::Completed);
    Ok(())
}

/// SHUTDOWN ends a persistent epoch: one lane claims the CRITICAL SHUTDOWN slot first and
/// stops; the rest stays PUBLISHED for the next epoch.
pub fn shutdown_ends_epoch(backend: &mut dyn Backend) -> Check {
    let mut slots = vec![slot(SHUTDOWN, 0, 0, &[])];
    slots.extend((0..10).map(|_| slot(NOP, 0, 2, &[])));
    let mut config = RunConfig::new(Mode::Priority);
    config.workgroup_size = 1;
    config.max_workgroups = 1;
    let r = run(backend, &workload("shutdown-epoch", slots), &config)?;
    expect_eq!("epochs", r.epochs.len(), 2);
    expect_eq!("first epoch settled", (r.epochs[0].settled, r.epochs[0].shutdown), (1, true));
    expect_eq!("second epoch settled", r.epochs[1].settled, 10);
    expect_eq!("all DONE", statuses(&r.ring)?, vec![Status::Done; 11]);
    Ok(())
}

/// Persistent lanes stop at the drain target (denied slots are not counted) with no lane
/// out of fuel; a target that cannot be reached ends in FuelExhausted, reported, not hung.
pub fn drain_target_and_fuel(backend: &mut dyn Backend, mode: Mode) -> Check {
    // 100 slots: small enough that lavapipe's fitted fuel cap (see RunConfig::fit) stays
    // above the 50 rounds asked for below in every mode.
    let slots: Vec<SlotSpec> = (0..100).map(|i| slot(NOP, if i % 10 == 0 { 2 } else { 0 }, i % 5, &[])).collect();
    let config = small(mode);
    let r = run(backend, &workload("drain", slots.clone()), &config)?;
    expect_eq!("epochs", r.epochs.len(), 1);
    expect_eq!("outcome", r.epochs[0].outcome, Outcome::Completed);
    expect_eq!("settled, target", (r.epochs[0].settled, r.epochs[0].drain_target), (90, 90));
    let c = r.ring.control().map_err(|e| e.to_string())?;
    expect_eq!("FUEL_EXHAUSTED, LOOP_CUTOFF", (c.fuel_exhausted, c.loop_cutoff), (0, 0));

    // An unreachable target: every working lane runs out of its 50 iterations.
    let mut config = config;
    config.fuel = Some(50);
    let p = prepare(&workload("fuel", slots), &config, backend).map_err(|e| e.to_string())?;
    let mut buffers = p.ring.buffers().to_vec();
    buffers[CONTROL][CTRL_DRAIN_TARGET as usize] = 10_000;
    let report = backend.run(p.ring.program(), p.geometry, &mut buffers, None).map_err(|e| e.to_string())?;
    let lanes = p.geometry.lanes() as usize;
    match &report.outcome {
        Outcome::FuelExhausted { lanes: out, unrecorded: 0 } if out.len() == lanes => {}
        other => {
            return Err(format!("unreachable drain target: expected all {lanes} lanes out of fuel, got {other:?}"))
        }
    }
    expect_eq!("FUEL_EXHAUSTED word", buffers[CONTROL][CTRL_FUEL_EXHAUSTED as usize], lanes as u32);
    expect_eq!("slots settled anyway", buffers[CONTROL][CTRL_SETTLED as usize], 90);
    Ok(())
}

/// A scratch path for IO checks, unique per process and `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("megaloop-io-check-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

/// Bad IO input through the kernel: a missing file, a directory (the kernel's read fails),
/// an offset past the end, an unregistered handle, each completes with ERROR, its code and
/// a message naming the problem, and FAULTs its slot; a destination outside the heap is
/// refused by the lane before any request; a good request beside them still gets its data;
/// and the run drains cleanly.
pub fn io_bad_inputs(backend: &mut dyn Backend, mode: Mode) -> Check {
    let missing = scratch("does-not-exist.bin");
    let _ = std::fs::remove_file(&missing);
    let mut w = workload(
        "io-bad-inputs",
        vec![
            slot(LOAD_MISS, 0, 0, &[0, 0, 0, 8, 10, 0]),
            slot(LOAD_MISS, 0, 0, &[1, 65, 0, 4, 20, 0]),
            slot(LOAD_MISS, 0, 0, &[9, 0, 0, 4, 30, 0]),
            slot(LOAD_MISS, 0, 0, &[2, 0, 0, 4, 40, 0]),
            slot(LOAD_MISS, 0, 0, &[1, 60, 0, 8, 50, 0]),
            slot(LOAD_MISS, 0, 0, &[1, 0, 0, 8, 255, 0]),
        ],
    );
    w.files = vec![
        FileSpec::Path(missing.clone()),
        FileSpec::Generated { len: 64, seed: 7 },
        FileSpec::Path(std::env::temp_dir()),
    ];
    let r = run(backend, &w, &small(mode))?;
    use Status::*;
    expect_eq!("statuses", statuses(&r.ring)?, vec![Fault, Fault, Fault, Fault, Done, Fault]);
    expect_eq!("runnable slots left", r.ring.runnable().map_err(|e| e.to_string())?, 0);
    let by_slot = |s: u32| r.io.iter().find(|c| c.slot == s);
    for (slot, code, text) in [
        (0, IO_ERROR_OS_ERROR, "does-not-exist.bin"),
        (1, IO_ERROR_OFFSET_PAST_END, "offset 65 is past the end of file handle 1 (64 bytes)"),
        (2, IO_ERROR_BAD_HANDLE, "file handle 9 is not registered"),
        (3, IO_ERROR_OS_ERROR, "directory"),
    ] {
        let c = by_slot(slot).ok_or(format!("slot {slot}: no IO completion"))?;
        expect_eq!(format!("slot {slot} error code"), c.error_code(), Some(code));
        let message = c.message().unwrap_or_default();
        if !message.contains(text) {
            return Err(format!("slot {slot}: message {message:?} does not say {text:?}"));
        }
    }
    let good = by_slot(4).ok_or("slot 4: no IO completion")?;
    expect_eq!("slot 4 (60..64: 4 bytes, then the end)", good.bytes(), Some(4));
    let bytes = megaloop::host::workload::generated_bytes(64, 7);
    let word = u32::from_le_bytes([bytes[60], bytes[61], bytes[62], bytes[63]]);
    expect_eq!("slot 4's data, zero-padded", r.ring.heap()[50..52].to_vec(), vec![word, 0]);
    expect_eq!("requests (the out-of-heap destination made none)", r.io.len(), 5);
    Ok(())
}

/// WRITE and FENCE from the kernel: a user handler with `io: write` writes heap words to
/// an output file, a `io: fence` slot completes, and a READ-handler reads the file's first
/// bytes back; the file holds exactly the words written.
pub fn io_write_and_fence(backend: &mut dyn Backend, mode: Mode) -> Check {
    use megaloop::protocol::io_queue::IoOp;
    let out = scratch(&format!("written-{}-{:?}.bin", backend.name().replace([' ', ':', '(', ')', ','], "_"), mode));
    let _ = std::fs::remove_file(&out);
    let handler = |opcode, io| UserHandler { name: format!("io-{opcode:x}"), opcode, body: vec![], io: Some(io) };
    let mut w =
        workload("io-write", vec![slot(0x300, 0, 0, &[0, 8, 0, 12, 100, 0]), slot(0x302, 0, 0, &[0, 0, 0, 0, 0, 0])]);
    w.handlers = vec![handler(0x300, IoOp::Write), handler(0x302, IoOp::Fence)];
    w.heap_init = vec![HeapInit { at: 100, words: vec![0x6463_6261, 0x6867_6665, 0x6c6b_6a69] }];
    w.files = vec![FileSpec::Output(out.clone())];
    let r = run(backend, &w, &small(mode))?;
    expect_eq!("statuses", statuses(&r.ring)?, vec![Status::Done, Status::Done]);
    expect_eq!("completions", r.io.iter().map(IoCompletion::bytes).collect::<Vec<_>>(), vec![Some(12), Some(0)]);
    let file = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    expect_eq!("file", file, [&[0u8; 8][..], b"abcdefghijkl"].concat());
    Ok(())
}

/// A LOAD_MISS slot that the host serves and re-publishes while lanes run never leaves
/// lanes spinning: in the persistent modes only the slot's own lane can claim it, so the
/// host may raise DRAIN_TARGET for it only while no lane has left on the old target
/// (spec 2.6, the CLOSED bit). Two slots in two lanes' shards, a generous fuel: every
/// epoch must complete with no lane out of fuel, and both slots end DONE.
pub fn io_during_a_run_strands_no_lane(backend: &mut dyn Backend, mode: Mode) -> Check {
    let mut w = workload("io-during-run", vec![slot(LOAD_MISS, 0, 0, &[0, 0, 0, 8, 60, 0]), slot(NOP, 0, 0, &[])]);
    w.files = vec![FileSpec::Generated { len: 64, seed: 7 }];
    let mut config = small(mode);
    config.fuel = Some(2000);
    let r = run(backend, &w, &config)?;
    for e in &r.epochs {
        if e.outcome != Outcome::Completed {
            return Err(format!(
                "{mode:?} epoch {}: {:?} (target {}, settled {})",
                e.epoch, e.outcome, e.drain_target, e.settled
            ));
        }
    }
    expect_eq!("statuses", statuses(&r.ring)?, vec![Status::Done, Status::Done]);
    Ok(())
}
