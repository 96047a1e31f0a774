//! The conformance corpus (specs/vectors) on every engine: the parallel and the
//! deterministic simulator and the GPU backend (lavapipe in CI; skipped with the reason
//! printed only where no adapter exists at all). `MEGALOOP_VECTOR_FILTER=opcode/` runs
//! the vectors whose name contains the filter.
//! Also: the corpus covers what the spec names, and the runner can fail.

use megaloop::protocol::opcode::BuiltinOp;
use megaloop::protocol::status::{Action, Status};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::vectors::*;

fn corpus() -> Vec<NamedVector> {
    load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("{e}"))
}

fn run_all(engine: Engine) {
    let mut instance = Instance::new(engine);
    if let (Engine::Gpu { .. }, Err(e)) = (&instance.engine, &instance.backend) {
        println!("SKIPPED: no GPU adapter at all ({e})");
        return;
    }
    let filter = std::env::var("MEGALOOP_VECTOR_FILTER").ok();
    let vectors = filtered(corpus(), filter.as_deref());
    assert!(!vectors.is_empty(), "no vector matches the filter {filter:?}");
    let results: Vec<VectorResult> = vectors.iter().flat_map(|v| run_named(v, &mut instance)).collect();
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.verdict.ok())
        .map(|r| format!("{} [{}]: {:?}", r.vector, r.mode, r.verdict))
        .collect();
    println!("{} runs of {} vectors on {}", results.len(), vectors.len(), instance.engine);
    assert!(bad.is_empty(), "{} of {} runs failed:\n{}", bad.len(), results.len(), bad.join("\n"));
}

#[test]
fn corpus_on_parallel_simulator() {
    run_all(Engine::SimParallel);
}

#[test]
fn corpus_on_deterministic_simulator() {
    run_all(Engine::SimDet { seed: 11 });
}

#[test]
fn corpus_on_gpu() {
    run_all(Engine::Gpu { adapter: None });
}

#[test]
fn corpus_covers_opcodes_transitions_modes_and_deviations() {
    let names: Vec<String> = corpus().into_iter().map(|v| v.name).collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    for op in BuiltinOp::ALL {
        let name = format!("opcode/{}", op.name().to_ascii_lowercase());
        assert!(has(&name), "no vector {name}");
    }
    for action in Action::ALL {
        for from in Status::ALL {
            let legal = megaloop::protocol::status::transition(from, action).is_ok();
            let action_name = serde_json::to_value(action).unwrap();
            let name = format!(
                "transition/{}/{}_from_{}",
                if legal { "legal" } else { "illegal" },
                action_name.as_str().unwrap(),
                from.name().to_ascii_lowercase()
            );
            assert!(has(&name), "no vector {name}");
        }
    }
    for mode in megaloop::builder::Mode::ALL {
        assert!(has(&format!("mode/{}", mode.name())), "no vector for mode {}", mode.name());
    }
    for k in 1..=6 {
        assert!(names.iter().any(|n| n.starts_with(&format!("deviation/{k}_"))), "no vector for deviation {k}");
    }
}

/// A wrong expectation fails, with a message naming the word; an engine listed as an
/// expected failure that passes is reported as an unexpected pass.
#[test]
fn runner_reports_wrong_expectations_and_stale_expected_failures() {
    let mut v = corpus().into_iter().find(|v| v.name == "opcode/store_u32").unwrap();
    v.vector.modes = vec![megaloop::builder::Mode::Once];
    let mut sim = Instance::new(Engine::SimParallel);
    assert_eq!(run_named(&v, &mut sim)[0].verdict, Verdict::Pass);
    v.vector.expect.heap.insert(5, 78);
    let Verdict::Fail { failures } = &run_named(&v, &mut sim)[0].verdict else { panic!("a wrong heap word passed") };
    assert_eq!(failures, &["heap[5]: got 77 (0x4d), expected 78 (0x4e)".to_string()]);
    v.vector.expected_failures = vec![ExpectedFailure { engine: "sim".into(), reason: "known".into() }];
    assert!(matches!(run_named(&v, &mut sim)[0].verdict, Verdict::ExpectedFail { .. }));
    v.vector.expect.heap.insert(5, 77);
    assert!(matches!(run_named(&v, &mut sim)[0].verdict, Verdict::UnexpectedPass { .. }));
}

/// The JUnit report is well-formed XML with one test case per run and the failures
/// marked.
#[test]
fn junit_report_is_valid() {
    let mut sim = Instance::new(Engine::SimParallel);
    let mut vectors = filtered(corpus(), Some("opcode/"));
    vectors[0].vector.expect.done_count = Some(999);
    let results: Vec<VectorResult> = vectors.iter().flat_map(|v| run_named(v, &mut sim)).collect();
    let xml = junit(&results).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("invalid XML: {e}\n{xml}"));
    let cases = doc.descendants().filter(|n| n.has_tag_name("testcase")).count();
    assert_eq!(cases, results.len());
    let failures = doc.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(failures, results.iter().filter(|r| !r.verdict.ok()).count());
    assert!(failures >= 1);
}
