//! `megaloop::litmus` on megaloop's engines: the deterministic simulator interleaves lanes
//! finely and keeps memory sequentially consistent, so it shows no forbidden and no weak
//! outcome while killing the mutants; the same engine with a memory-model bug planted in
//! every program (a compare-exchange split into a load and a store, a barrier dropped,
//! two loads of one word reordered) fails the test that bug breaks; lavapipe and the
//! parallel simulator run every test and break no rule. GPU runs are skipped, with the
//! reason printed, only where no adapter exists at all.

use megaloop::host::Backend;
use megaloop::ir::build::stmt;
use megaloop::ir::{AtomicOp, Expr, Program, Stmt};
use megaloop::litmus::params::Stress;
use megaloop::litmus::program::Shape;
use megaloop::litmus::report::Verdict;
use megaloop::litmus::{run_test, LitmusOptions, LitmusReport, CATALOGUE};
use megaloop::planted::{rewrite, Fault, Layer, Mutation, Planted};
use megaloop_conformance::engine::Engine;

fn options(workgroup_size: u32, testing: u32, iterations: u32) -> LitmusOptions {
    LitmusOptions {
        shape: Shape { workgroup_size, testing_workgroups: testing, stress_workgroups: 2 },
        stress: Stress { stress_iterations: 64, pre_stress_iterations: 16, spin: 256 },
        iterations,
        seed: 11,
    }
}

fn run_all(backend: &mut dyn Backend, options: &LitmusOptions) -> LitmusReport {
    let tests = CATALOGUE
        .iter()
        .map(|t| run_test(backend, t, options, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", t.name)))
        .collect();
    let report = LitmusReport::new(backend.name(), options, tests);
    println!("{}", report.render());
    report
}

#[test]
fn the_deterministic_simulator_breaks_no_rule_shows_no_weak_outcome_and_kills_the_mutants() {
    let mut backend = Engine::SimDet { seed: 3 }.backend().unwrap();
    let report = run_all(backend.as_mut(), &options(16, 8, 2));
    for t in &report.tests {
        assert_eq!(t.corrupt, 0, "{}", t.test);
        assert_eq!(t.instances, 2 * 16 * 8, "{}", t.test);
        match t.kind.as_str() {
            "forbidden" => assert_eq!(t.verdict, Verdict::Pass, "{}", t.test),
            // One thread runs every lane: sequentially consistent, never weak.
            "allowed" => assert_eq!(t.verdict, Verdict::WeakNotSeen, "{}", t.test),
            _ => {}
        }
        // The outcomes add up to the instances.
        assert_eq!(t.outcomes.iter().map(|o| o.count).sum::<u64>(), t.instances, "{}", t.test);
    }
    assert_eq!(report.mutants, megaloop::litmus::CATALOGUE.iter().filter(|t| t.kind_name() == "mutant").count());
    assert!(
        4 * report.mutants_killed >= 3 * report.mutants,
        "the seeded schedule kills {} mutants",
        report.mutants_killed
    );
    assert_eq!(report.failures().count(), 0);
}

/// The compare-exchange made of a load and a conditional store.
fn split_compare_exchange(program: &mut Program) -> usize {
    rewrite::replace_stmts(program, &|s| match s {
        Stmt::Atomic { op: AtomicOp::CompareExchange, buffer, index, args, result: Some(r) } => Some(vec![
            stmt::atomic_load(r, buffer, index.clone()),
            stmt::if_(
                Expr::var(r).eq(args[0].clone()),
                vec![stmt::atomic_store(buffer, index.clone(), args[1].clone())],
            ),
        ]),
        _ => None,
    })
}

/// Every barrier gone.
fn drop_barriers(program: &mut Program) -> usize {
    rewrite::remove_stmts(program, &|s| matches!(s, Stmt::Barrier))
}

/// In each block, the second atomic load moved before the first.
fn reorder_loads(program: &mut Program) -> usize {
    rewrite::blocks(program, &mut |block| {
        let loads: Vec<usize> = block
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Stmt::Atomic { op: AtomicOp::Load, .. }))
            .map(|(i, _)| i)
            .take(2)
            .collect();
        if let [first, second] = loads[..] {
            let moved = block.remove(second);
            block.insert(first, moved);
            1
        } else {
            0
        }
    })
}

/// A memory-model bug in an engine's IR semantics, planted by editing every program.
const fn memory_model_bug(name: &'static str, about: &'static str, edit: fn(&mut Program) -> usize) -> Fault {
    Fault { name, layer: Layer::Semantics, about, mutation: Mutation::Program(edit) }
}

static SPLIT_COMPARE_EXCHANGE: Fault = memory_model_bug(
    "compare-exchange-split",
    "the compare-exchange is a load and a conditional store (2.4 step 3)",
    split_compare_exchange,
);
static BARRIER_DROPPED: Fault = memory_model_bug("barrier-dropped", "`barrier` orders nothing (1.7)", drop_barriers);
static LOADS_REORDERED: Fault =
    memory_model_bug("loads-reordered", "two loads of one word swapped (1.7, coherence)", reorder_loads);

#[test]
fn a_memory_model_bug_fails_the_test_whose_rule_it_breaks() {
    let iterations = 3;
    for (fault, test) in
        [(&SPLIT_COMPARE_EXCHANGE, "claim"), (&BARRIER_DROPPED, "barrier-mp"), (&LOADS_REORDERED, "corr")]
    {
        let mut inner = Engine::SimDet { seed: 3 }.backend().unwrap();
        let changed = std::cell::Cell::new(0);
        let mut backend = Planted::new(inner.as_mut(), fault, &changed);
        let t = megaloop::litmus::catalogue::find(test).unwrap();
        let report = run_test(&mut backend, t, &options(16, 8, iterations), &mut |_| {}).unwrap();
        println!("{}: {} saw {} of {} ({:?})", fault.name, test, report.watched, report.instances, report.verdict);
        assert_eq!(changed.get(), u64::from(iterations), "{} changed nothing in some run of {test}", fault.name);
        assert_eq!(report.verdict, Verdict::Fail, "{} is not caught by {test}", fault.name);
        let rendered = LitmusReport::new(backend.name(), &options(16, 8, iterations), vec![report]).render();
        assert!(rendered.contains(&format!("FAIL {test}")) && rendered.contains("rule: "), "{rendered}");
    }
}

#[test]
fn lavapipe_and_the_parallel_simulator_run_every_test_and_break_no_rule() {
    for engine in [Engine::SimParallel, Engine::Gpu { adapter: None }] {
        let mut backend = match engine.backend() {
            Ok(backend) => backend,
            Err(e) if engine != Engine::SimParallel => {
                println!("SKIPPED on {engine}: no GPU adapter at all ({e})");
                continue;
            }
            Err(e) => panic!("{engine}: {e}"),
        };
        let report = run_all(backend.as_mut(), &options(32, 4, 2));
        let failed: Vec<&str> = report.failures().map(|t| t.test.as_str()).collect();
        assert!(failed.is_empty(), "{engine}: {failed:?}");
        assert!(report.tests.iter().all(|t| t.instances == 2 * 32 * 4));
    }
}
