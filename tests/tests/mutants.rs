//! The planted-fault catalogue against the conformance corpus: every fault is killed on
//! the deterministic simulator, the catalogue is large and spans every layer, and every
//! fault applies somewhere (a fault that never applies could not be killed).

use megaloop::planted::{Layer, CATALOGUE};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::mutants::{run_mutants, Mutant};
use megaloop_conformance::vectors::{corpus_dir, load_corpus};

#[test]
fn the_catalogue_is_large_named_once_and_spans_every_layer() {
    assert!(CATALOGUE.len() >= 40, "{} planted faults", CATALOGUE.len());
    let mut names: Vec<&str> = CATALOGUE.iter().map(|f| f.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CATALOGUE.len(), "a fault name is used twice");
    for layer in [
        Layer::SlotSequence,
        Layer::Mode,
        Layer::Handler,
        Layer::Semantics,
        Layer::HostDriver,
        Layer::IoService,
        Layer::Backend,
    ] {
        assert!(CATALOGUE.iter().any(|f| f.layer == layer), "no fault in layer {}", layer.name());
    }
}

#[test]
fn the_corpus_kills_every_planted_fault_on_the_deterministic_simulator() {
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let faults: Vec<_> = CATALOGUE.iter().map(Mutant::Planted).collect();
    let mut instance = Instance::new(Engine::SimDet { seed: 0 });
    let report = run_mutants(&mut instance, &corpus, &faults, &mut |_| {});
    assert!(report.excluded.is_empty(), "checks fail on the clean engine: {:?}", report.excluded);
    for f in &report.faults {
        assert!(f.applied_runs.is_some_and(|n| n > 0), "fault {} never applied", f.fault);
    }
    assert!(report.all_killed(), "{}", report.render());
    // The JUnit report names every fault.
    let xml = report.junit().unwrap();
    for f in CATALOGUE {
        assert!(xml.contains(f.name), "JUnit report lacks {}", f.name);
    }
}
