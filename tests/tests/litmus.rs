//! `megaloop::litmus` on megaloop's engines: the deterministic simulator interleaves lanes
//! finely and keeps memory sequentially consistent, so it shows no forbidden and no weak
//! outcome while killing the mutants; the same engine with a memory-model bug planted in
//! every program (a compare-exchange split into a load and a store, a barrier dropped,
//! two loads of one word reordered) fails the test that bug breaks; lavapipe and the
//! parallel simulator run every test and break no rule. GPU runs are skipped, with the
//! reason printed, only where no adapter exists at all.

use megaloop::geometry::Geometry;
use megaloop::host::{Backend, BackendError, HostService, RunReport};
use megaloop::ir::build::stmt;
use megaloop::ir::{validate, AtomicOp, Block, Expr, Program, Stmt, ValidProgram};
use megaloop::litmus::params::Stress;
use megaloop::litmus::program::Shape;
use megaloop::litmus::report::Verdict;
use megaloop::litmus::{run_test, LitmusOptions, LitmusReport, CATALOGUE};
use megaloop_conformance::engine::Engine;
use std::time::Duration;

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

/// An edit of a program's body; how many places it changed.
type Edit = fn(&mut Block) -> usize;

/// A backend that edits every program before its engine runs it: a memory-model bug.
struct Planted {
    inner: Box<dyn Backend>,
    edit: Edit,
}

impl Backend for Planted {
    fn name(&self) -> String {
        format!("{}+planted", self.inner.name())
    }
    fn set_timeout(&mut self, timeout: Duration) {
        self.inner.set_timeout(timeout)
    }
    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        let mut edited: Program = (**program).clone();
        assert!((self.edit)(&mut edited.body) > 0, "the fault changed nothing in {}", program.name);
        let edited = validate(&edited).unwrap_or_else(|e| panic!("{e}"));
        self.inner.run(&edited, geometry, buffers, service)
    }
}

/// Apply `edit` to every block, innermost first; how many places changed.
fn every_block(block: &mut Block, edit: &dyn Fn(&mut Block) -> usize) -> usize {
    let mut n = 0;
    for s in block.iter_mut() {
        match s {
            Stmt::If { then, otherwise, .. } => n += every_block(then, edit) + every_block(otherwise, edit),
            Stmt::For { body, .. } => n += every_block(body, edit),
            Stmt::PersistentLoop { body, on_exhausted, .. } => {
                n += every_block(body, edit) + every_block(on_exhausted, edit)
            }
            _ => {}
        }
    }
    n + edit(block)
}

/// The compare-exchange made of a load and a conditional store.
fn split_compare_exchange(body: &mut Block) -> usize {
    every_block(body, &|block| {
        let mut n = 0;
        let mut out = Vec::new();
        for s in block.drain(..) {
            match s {
                Stmt::Atomic { op: AtomicOp::CompareExchange, buffer, index, args, result: Some(r) } => {
                    n += 1;
                    out.push(stmt::atomic_load(&r, &buffer, index.clone()));
                    out.push(stmt::if_(
                        Expr::var(&r).eq(args[0].clone()),
                        vec![stmt::atomic_store(&buffer, index, args[1].clone())],
                    ));
                }
                s => out.push(s),
            }
        }
        *block = out;
        n
    })
}

/// Every barrier gone.
fn drop_barriers(body: &mut Block) -> usize {
    let before = body.len();
    body.retain(|s| !matches!(s, Stmt::Barrier));
    before - body.len()
}

/// In each block, the second atomic load moved before the first.
fn reorder_loads(body: &mut Block) -> usize {
    every_block(body, &|block| {
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

#[test]
fn a_memory_model_bug_fails_the_test_whose_rule_it_breaks() {
    let faults: [(&str, Edit, &str); 3] = [
        ("compare-exchange split", split_compare_exchange, "claim"),
        ("barrier dropped", drop_barriers, "barrier-mp"),
        ("loads reordered", reorder_loads, "corr"),
    ];
    for (fault, edit, test) in faults {
        let inner = Engine::SimDet { seed: 3 }.backend().unwrap();
        let mut backend = Planted { inner, edit };
        let t = megaloop::litmus::catalogue::find(test).unwrap();
        let report = run_test(&mut backend, t, &options(16, 8, 3), &mut |_| {}).unwrap();
        println!("{fault}: {} saw {} of {} ({:?})", test, report.watched, report.instances, report.verdict);
        assert_eq!(report.verdict, Verdict::Fail, "{fault} is not caught by {test}");
        let rendered = LitmusReport::new(backend.name(), &options(16, 8, 3), vec![report]).render();
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
