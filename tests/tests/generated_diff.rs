//! The differential check over generated cases: 1,000 seeded random workloads (user
//! handlers included) on the deterministic and parallel simulators and the GPU backend
//! (lavapipe in CI), every schedule-independent word compared. A failure is shrunk by
//! proptest, saved as a case file and reported with the command that replays it.
//! Also: the generators cover what they promise, and the harness catches planted faults.

use megaloop::host::workload::OpcodeSpec;
use megaloop::protocol::opcode::BuiltinOp;
use megaloop::protocol::Status;
use megaloop_conformance::diff::{diff_case, run_on, DiffReport};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::generate::{case, runner, Case};
use proptest::test_runner::TestError;
use std::cell::RefCell;
use std::collections::BTreeSet;

const CASES: u32 = 1000;
/// The proptest stream's seed: CI runs the same 1,000 cases every time.
const STREAM_SEED: u64 = 0x6d65_6761_6c6f_6f70;

fn engines() -> Vec<Instance> {
    let mut engines = vec![Instance::new(Engine::SimDet { seed: 7 }), Instance::new(Engine::SimParallel)];
    let gpu = Instance::new(Engine::Gpu { adapter: None });
    match &gpu.backend {
        Ok(_) => engines.push(gpu),
        Err(e) => println!("SKIPPED the GPU engine: no GPU adapter at all ({e})"),
    }
    engines
}

fn failure_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("megaloop-failures")
}

#[test]
fn generated_cases_agree_on_every_engine() {
    let engines = RefCell::new(engines());
    let mut runner = runner(STREAM_SEED, CASES);
    let result = runner.run(&case(), |case| {
        let report = diff_case(&case, &mut engines.borrow_mut());
        if report.agrees() {
            Ok(())
        } else {
            Err(proptest::test_runner::TestCaseError::fail(report.render(10)))
        }
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, minimal)) => {
            let saved = minimal.save(&failure_dir()).map(|p| p.display().to_string());
            panic!(
                "engines disagree on a generated case (shrunk):\n{reason}\nreplay: megaloop diff --workload {saved:?}"
            );
        }
        Err(TestError::Abort(reason)) => panic!("the generator aborted: {reason}"),
    }
}

/// Generated cases made to overflow the IO queue and the debug log
/// (`generate::overflowing`) agree on every engine: spec 2.10's classification holds past
/// the bounded resources. Few cases: each runs many epochs.
#[test]
fn overflowing_generated_cases_agree_on_every_engine() {
    let mut engines = engines();
    let (mut queue_overflows, mut log_overflows) = (0, 0);
    for seed in 0..OVERFLOW_CASES {
        let mut case = Case::from_seed(seed);
        case.workload = megaloop_conformance::generate::overflowing(case.workload);
        let report = diff_case(&case, &mut engines);
        assert!(report.agrees(), "seed {seed}, overflowing:\n{}", report.render(10));
        let (run, snapshot) = run_on(&mut engines[0], &case.workload, &case.config()).unwrap();
        let queue = megaloop_conformance::generate::SMALL_IO_QUEUE as usize;
        queue_overflows += usize::from(run.io.len() > queue);
        log_overflows += usize::from(snapshot.debug_dropped > 0);
    }
    assert!(queue_overflows >= 3, "only {queue_overflows} cases made more IO requests than their queue holds");
    assert_eq!(log_overflows, OVERFLOW_CASES as usize, "every case overflows the debug log");
}

/// Cases of [`overflowing_generated_cases_agree_on_every_engine`].
const OVERFLOW_CASES: u64 = 24;

#[test]
fn seeded_cases_are_reproducible() {
    assert_eq!(Case::from_seed(42), Case::from_seed(42));
    assert_ne!(Case::from_seed(42).workload, Case::from_seed(43).workload);
    let dir = failure_dir().join("roundtrip");
    let path = Case::from_seed(42).save(&dir).unwrap();
    assert_eq!(Case::from_file(&path).unwrap(), Case::from_seed(42));
}

/// Over 300 cases the generators produce every built-in opcode, user handlers, every
/// kind of tenant, every priority, and slots that end DONE, FAULT and still PUBLISHED
/// (denied), with handlers that yield and re-queue once.
#[test]
fn generators_cover_opcodes_tenants_priorities_and_outcomes() {
    let mut sim = Instance::new(Engine::SimParallel);
    let (mut opcodes, mut tenants, mut priorities, mut statuses) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut handlers = 0;
    for seed in 0..300 {
        let case = Case::from_seed(seed);
        handlers += case.workload.handlers.len();
        for s in &case.workload.slots {
            if let OpcodeSpec::Number(op) = s.opcode {
                opcodes.insert(op);
            }
            tenants.insert(s.tenant);
            priorities.insert(s.priority);
        }
        let (run, _) = run_on(&mut sim, &case.workload, &case.config()).unwrap();
        statuses.extend(run.ring.slots().unwrap().iter().map(|s| s.status));
    }
    for op in BuiltinOp::ALL {
        assert!(opcodes.contains(&op.opcode()), "{} never generated", op.name());
    }
    assert!(handlers > 100, "only {handlers} user handlers in 300 cases");
    assert_eq!(tenants, [0, 1, 2, 3, 29, 40, 138, u32::MAX].into());
    assert_eq!(priorities, (0..7).collect());
    for s in [Status::Done, Status::Fault, Status::Published] {
        assert!(statuses.contains(&s), "no slot ended {s}");
    }
}

fn planted(fault: &str, base: Engine) -> Vec<Instance> {
    let faulty: Engine = format!("{base}+{fault}").parse().unwrap();
    vec![Instance::new(base), Instance::new(faulty)]
}

fn caught(report: &DiffReport) -> bool {
    !report.agrees()
}

/// A kernel that forgets the tenant bound runs slots of tenant 138 (its "mask" is the
/// DRAIN_TARGET word): the harness reports the differing statuses.
#[test]
fn harness_reports_a_planted_unbounded_tenant() {
    let mut engines = planted("unbounded-tenant", Engine::SimParallel);
    let case = (0..).map(Case::from_seed).find(|c| c.workload.slots.iter().any(|s| s.tenant == 138)).unwrap();
    let report = diff_case(&case, &mut engines);
    assert!(caught(&report), "the unbounded tenant check went unnoticed:\n{}", report.render(5));
    let words: Vec<&str> = report.results[1].mismatches.iter().map(|m| m.word.as_str()).collect();
    assert!(words.iter().any(|w| w.ends_with("STATUS")), "{words:?}");
}

/// A claim without a compare-exchange (load, then store CLAIMED) lets two lanes run one
/// slot; under the deterministic schedule's interleavings the harness sees the doubled
/// effects (DONE_COUNT, accumulators, claim totals). Priority lanes race for a slot once
/// the sweeps are finished and rewound (spec 2.7): twice as many lanes as slots make
/// idle lanes rewind and re-draw while the others still claim.
#[test]
fn harness_reports_a_planted_trusting_claim() {
    let caught_by = (0..200u64).find(|&seed| {
        let mut engines = planted("trusting-claim", Engine::SimDet { seed });
        let mut case = Case::from_seed(3);
        case.workload = megaloop::host::workload::Workload::mixed(16);
        case.mode = megaloop::builder::Mode::Priority;
        case.workgroup_size = 8;
        case.workgroups = 4;
        caught(&diff_case(&case, &mut engines))
    });
    assert!(caught_by.is_some(), "no schedule of 200 exposed the trusting claim");
}

/// The layout that makes generated cases deterministic holds for what the handler
/// generator writes: every heap load at a constant index reads the read-only table (a
/// load of a built-in slot's private word raced with that slot: found by the
/// `sim_schedules` fuzz target, a MEMCPY into heap[131..136] beside a handler reading
/// heap[135]).
#[test]
fn generated_handlers_read_only_the_table_at_constant_indices() {
    use megaloop::ir::walk::{expr_children, stmt_exprs, visit_stmts};
    use megaloop::ir::{Expr, Literal};
    use megaloop_conformance::generate::layout::{TABLE, TABLE_WORDS};
    fn constant_loads(e: &Expr, out: &mut Vec<u32>) {
        if let Expr::Load { buffer, index } = e {
            if let (true, Expr::Literal(Literal::U32(k))) = (buffer == "heap", index.as_ref()) {
                out.push(*k);
            }
        }
        for child in expr_children(e) {
            constant_loads(child, out);
        }
    }
    let mut checked = 0;
    for seed in 0..400 {
        for handler in Case::from_seed(seed).workload.handlers {
            let mut loads = Vec::new();
            visit_stmts(&handler.body, &mut |s| stmt_exprs(s).into_iter().for_each(|e| constant_loads(e, &mut loads)));
            for k in loads {
                assert!((TABLE..TABLE + TABLE_WORDS).contains(&k), "seed {seed}, {}: loads heap[{k}]", handler.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "only {checked} constant loads generated");
}

/// The heap discipline of [`megaloop_conformance::generate::layout`], checked on the
/// built-in slots the generator writes: a heap range that a built-in slot may write (all
/// of it inside the heap) belongs to that slot alone and never overlaps the read-only
/// table. Two LOAD_MISS slots meant to fail on a destination past the heap's end had 4
/// bytes or fewer, so both wrote heap[1023] and the last one to land won: found by the
/// `sim_schedules` fuzz target (`heap[1023]: sim 4000015702, sim-det:0 558099694`).
#[test]
fn generated_built_in_slots_write_disjoint_heap_ranges() {
    use megaloop::protocol::opcode::{COMPARE_SWAP, LOAD_MISS, MEMCPY, MEMCPY_MAX_WORDS, PACKED_SLOT, STORE_U32};
    use megaloop::protocol::packed::decode_packed;
    use megaloop::protocol::ring::Slot;
    use megaloop_conformance::generate::layout::{HEAP_WORDS, TABLE, TABLE_WORDS};
    /// `[start, end)` heap words the slot may write, where all of it lies inside the heap.
    fn writes(opcode: u32, args: &[u32; 12]) -> Vec<(u64, u64)> {
        let arg = |k: usize| u64::from(args[k]);
        let ranges = match opcode {
            STORE_U32 | COMPARE_SWAP => vec![(arg(0), arg(0) + 1)],
            // Longer than MEMCPY's most words, it FAULTs and writes nothing (spec 2.5).
            MEMCPY if arg(2) <= u64::from(MEMCPY_MAX_WORDS) => vec![(arg(0), arg(0) + arg(2))],
            LOAD_MISS => vec![(arg(4), arg(4) + arg(3).div_ceil(4))],
            PACKED_SLOT => decode_packed(args)
                .unwrap_or_default()
                .iter()
                .filter(|op| op.opcode == STORE_U32)
                .map(|op| (u64::from(op.addr), u64::from(op.addr) + 1))
                .collect(),
            _ => vec![],
        };
        ranges.into_iter().filter(|&(start, end)| start < end && end <= u64::from(HEAP_WORDS)).collect()
    }
    let table = (u64::from(TABLE), u64::from(TABLE + TABLE_WORDS));
    let overlap = |a: (u64, u64), b: (u64, u64)| a.0 < b.1 && b.0 < a.1;
    let mut checked = 0;
    for seed in 0..2000 {
        let slots = Case::from_seed(seed).workload.slots;
        let mut owned: Vec<((u64, u64), usize)> = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            let OpcodeSpec::Number(opcode) = slot.opcode else { continue };
            let args = Slot::published(opcode, slot.tenant, slot.priority, &slot.args).expect("a generated slot").args;
            for range in writes(opcode, &args) {
                assert!(
                    !overlap(range, table),
                    "seed {seed}, slot {i}: writes heap{range:?}, inside the read-only table"
                );
                if let Some((_, j)) = owned.iter().find(|&&(other, j)| j != i && overlap(range, other)) {
                    panic!("seed {seed}: slots {j} and {i} both write heap{range:?}");
                }
                owned.push((range, i));
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} written ranges generated");
}
