//! External engines (`exec:COMMAND`, spec part 3): the worked example runtime
//! (examples/native-runtime, an independent implementation of the protocol) passes every
//! corpus vector, each of its fault switches fails the vectors that
//! should catch it, and engines that die, hang or answer garbage are clear errors naming
//! the engine, never a hang or a panic.

use megaloop::builder::Mode;
use megaloop_conformance::engine::{Engine, External, Instance};
use megaloop_conformance::mutants::{run_mutants, Mutant};
use megaloop_conformance::vectors::{corpus_dir, load_corpus, run_named, run_vector, Halt, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Build the example runtime with this test's cargo and profile; its path.
fn native_runtime() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "megaloop-native-runtime", "--bin", "native-runtime"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building examples/native-runtime failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let bin = target.join("debug").join("native-runtime");
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

fn exec(command: String) -> Engine {
    Engine::External { runtime: External::Exec(command), fault: None }
}

#[test]
fn the_native_runtime_passes_every_vector() {
    let bin = native_runtime();
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let mut instance = Instance::new(exec(bin.display().to_string()));
    instance.backend.as_ref().expect("the engine starts");
    let results: Vec<_> = corpus.iter().flat_map(|v| run_named(v, &mut instance)).collect();
    // It runs every mode, user handlers (it interprets their IR) and IO, so it declines
    // nothing and passes every run of every vector.
    let not_passed: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{} [{}]: {:?}", r.vector, r.mode, r.verdict))
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
    for v in &corpus {
        assert!(results.iter().any(|r| r.vector == v.name), "{} never ran", v.name);
    }
    assert!(corpus.iter().any(|v| !v.vector.workload.handlers.is_empty()), "the corpus has user handlers");
}

#[test]
fn each_fault_switch_of_the_native_runtime_is_killed_by_the_vectors_that_should() {
    let bin = native_runtime();
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let deviations: Vec<_> = corpus.into_iter().filter(|v| v.name.starts_with("deviation/")).collect();
    let mut instance = Instance::new(exec(bin.display().to_string()));
    let faults = ["trusting-claim", "unbounded-tenant"].map(|f| Mutant::EngineSwitch(f.into()));
    let report = run_mutants(&mut instance, &deviations, &faults, &mut |_| {});
    assert!(report.all_killed(), "{}", report.render());
    let first = |name: &str| report.faults.iter().find(|f| f.fault == name).unwrap().kills[0].check.clone();
    assert_eq!(first("unbounded-tenant"), "deviation/1_out_of_range_tenant");
    assert!(
        report
            .faults
            .iter()
            .find(|f| f.fault == "trusting-claim")
            .unwrap()
            .kills
            .iter()
            .any(|k| k.check == "deviation/2_exactly_once"),
        "{}",
        report.render()
    );
    // A switch the engine does not declare is refused at the handshake.
    let bogus = Instance::new(Engine::External {
        runtime: External::Exec(bin.display().to_string()),
        fault: Some("no-such".into()),
    });
    assert!(bogus.backend.err().unwrap().contains("no-such"));
}

/// A `sh` engine that answers `hello` (declaring once mode), then does `then` on the first
/// run request.
fn scripted(then: &str) -> Engine {
    let hello = r#"{"hello":{"protocol":1,"name":"scripted","capabilities":{"modes":["once"],"max_slots":4096,"max_workgroups":1}}}"#;
    exec(format!("read line; echo '{hello}'; read line; {then}"))
}

fn nop_vector() -> megaloop_conformance::vectors::NamedVector {
    load_corpus(&corpus_dir()).unwrap().into_iter().find(|v| v.name == "opcode/nop").unwrap()
}

fn failure_of(engine: Engine, timeout: Duration) -> String {
    let mut instance = Instance::new(engine);
    instance.set_timeout(timeout);
    let start = Instant::now();
    let outcome = run_vector(&nop_vector().vector, &mut instance, Mode::Once);
    assert!(start.elapsed() < timeout + Duration::from_secs(20), "took {:?}", start.elapsed());
    match outcome {
        Err(Halt::Failed(failures)) => failures.join("; "),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn engines_that_die_hang_or_answer_garbage_are_clear_errors() {
    let died = failure_of(scripted("echo 'dying on purpose' >&2; exit 7"), Duration::from_secs(10));
    assert!(died.contains("exec:") && died.contains("exit status: 7") && died.contains("dying on purpose"), "{died}");
    let garbage = failure_of(scripted("echo '{\"ran\": 12}'"), Duration::from_secs(10));
    assert!(garbage.contains("does not allow") && garbage.contains("{\"ran\": 12}"), "{garbage}");
    let short =
        failure_of(scripted(r#"echo '{"ran":{"buffers":["AAAA"],"outcome":"completed"}}'"#), Duration::from_secs(10));
    assert!(short.contains("answered 1 buffers"), "{short}");
    let hung = failure_of(scripted("sleep 600"), Duration::from_secs(2));
    assert!(hung.contains("did not finish within"), "{hung}");
    // A decline is a skip, not a failure.
    let mut instance = Instance::new(scripted(r#"echo '{"declined":{"reason":"not today"}}'"#));
    let outcome = run_vector(&nop_vector().vector, &mut instance, Mode::Once);
    assert_eq!(outcome, Err(Halt::Declined("not today".into())));
    // Modes the engine does not declare are declined before anything is sent.
    let outcome = run_vector(&nop_vector().vector, &mut instance, Mode::Persistent);
    assert!(matches!(outcome, Err(Halt::Declined(ref r)) if r.contains("persistent mode")), "{outcome:?}");
    // An engine that does not start, or does not speak the protocol, is named.
    let missing = Instance::new(exec("/nonexistent/runtime".into())).backend.err().unwrap();
    assert!(missing.contains("exec:/nonexistent/runtime"), "{missing}");
    let echo = Instance::new(exec("cat".into())).backend.err().unwrap();
    assert!(echo.contains("exec:cat") && echo.contains("does not allow"), "{echo}");
    assert!("sim+trusting-claim".parse::<Engine>().is_ok());
    let planted_exec = "exec:./rt+trusting-claim".parse::<Engine>().unwrap();
    assert_eq!(planted_exec, exec("./rt+trusting-claim".into()), "the command is everything after `exec:`");
}
