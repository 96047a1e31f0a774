//! The `wgsl:FILE` engine (specs/protocol.md 3.6): the worked example kernel
//! (examples/wgsl-kernel/once.wgsl, a hand-written once-mode megakernel in vyre's style)
//! passes every vector of its mode on lavapipe and skips the rest with the reason, each
//! of its fault switches is killed, its constants equal megaloop's, and kernels that
//! break the file's contract are refused with a clear error. GPU runs are skipped, with
//! the reason printed, only where no adapter exists at all.

use megaloop::builder::Mode;
use megaloop::protocol::layout::LAYOUT;
use megaloop::protocol::opcode::{BuiltinOp, MEMCPY_MAX_WORDS};
use megaloop::protocol::packed::{PACKED_ADDR_LIMIT, PACKED_MAX_OPS, PACKED_OP_SHIFT};
use megaloop::protocol::Status;
use megaloop_conformance::engine::{Engine, External, Instance};
use megaloop_conformance::mutants::{run_mutants, Mutant};
use megaloop_conformance::vectors::{corpus_dir, load_corpus, run_named, Verdict};
use megaloop_gpu::user_kernel::{KernelConstant, UserKernel};
use megaloop_gpu::GpuBackend;
use std::path::{Path, PathBuf};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/wgsl-kernel/once.wgsl")
}

fn engine(path: &Path) -> Engine {
    Engine::External { runtime: External::Wgsl(path.to_path_buf()), fault: None }
}

fn adapter_exists() -> bool {
    match GpuBackend::new(None) {
        Ok(_) => true,
        Err(e) => {
            println!("SKIPPED: no GPU adapter at all ({e})");
            false
        }
    }
}

#[test]
fn the_example_kernel_passes_every_vector_of_its_mode_and_skips_the_rest() {
    if !adapter_exists() {
        return;
    }
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let mut instance = Instance::new(engine(&example()));
    instance.backend.as_ref().expect("the engine starts");
    let results: Vec<_> = corpus.iter().flat_map(|v| run_named(v, &mut instance)).collect();
    let mut passed = 0;
    for r in &results {
        match &r.verdict {
            Verdict::Pass => {
                assert_eq!(r.mode, Mode::Once.name(), "{} passed in a mode the kernel does not run", r.vector);
                passed += 1;
            }
            // It declines exactly what it lacks: the other modes and user handlers.
            Verdict::Skip { reason } => assert!(
                reason.contains("mode (the engine runs once)") || reason.contains("user handlers"),
                "{} [{}] skipped: {reason}",
                r.vector,
                r.mode
            ),
            other => panic!("{} [{}]: {other:?}", r.vector, r.mode),
        }
    }
    // Every vector that runs in once mode without user handlers passed.
    for v in corpus.iter().filter(|v| v.vector.workload.handlers.is_empty()) {
        let once = results.iter().find(|r| r.vector == v.name && r.mode == Mode::Once.name());
        if let Some(r) = once {
            assert_eq!(r.verdict, Verdict::Pass, "{} [once]", v.name);
        }
    }
    assert!(passed >= 50, "only {passed} runs passed");
}

#[test]
fn each_fault_switch_of_the_example_kernel_is_killed() {
    if !adapter_exists() {
        return;
    }
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let mut instance = Instance::new(engine(&example()));
    let declared = External::Wgsl(example()).declared_faults().unwrap();
    assert_eq!(declared, ["unbounded-tenant", "debug-log-overrun", "memcpy-unbounded"]);
    let faults: Vec<Mutant> = declared.into_iter().map(Mutant::EngineSwitch).collect();
    let report = run_mutants(&mut instance, &corpus, &faults, &mut |_| {});
    assert!(report.all_killed(), "{}", report.render());
    let first = |name: &str| report.faults.iter().find(|f| f.fault == name).unwrap().kills[0].check.clone();
    assert_eq!(first("unbounded-tenant"), "deviation/1_out_of_range_tenant");
    assert_eq!(first("debug-log-overrun"), "deviation/6_debug_log_capacity");
    assert_eq!(first("memcpy-unbounded"), "opcode/memcpy_longest");
}

/// Every `const NAME: u32 = V;` of the example is one of megaloop's constants with its
/// value: the layout table, `STATUS_*`, `OP_*`, and the handlers' bounds.
#[test]
fn the_example_kernels_constants_are_megaloops() {
    let wgsl = std::fs::read_to_string(example()).unwrap();
    let mut known: Vec<(String, u32)> = LAYOUT.iter().map(|e| (e.name.to_string(), e.value)).collect();
    known.extend(Status::ALL.iter().map(|s| (format!("STATUS_{}", s.name()), s.word())));
    known.extend(BuiltinOp::ALL.iter().map(|op| (format!("OP_{}", op.name()), op.opcode())));
    known.extend([
        ("MEMCPY_MAX_WORDS".to_string(), MEMCPY_MAX_WORDS),
        ("PACKED_MAX_OPS".to_string(), PACKED_MAX_OPS),
        ("PACKED_ADDR_LIMIT".to_string(), PACKED_ADDR_LIMIT),
        ("PACKED_OP_SHIFT".to_string(), PACKED_OP_SHIFT),
    ]);
    let mut checked = 0;
    for line in wgsl.lines().filter_map(|l| l.strip_prefix("const ")) {
        let (name, rest) = line.split_once(": u32 = ").unwrap_or_else(|| panic!("`const {line}` is not a u32"));
        let value: u32 = rest.trim_end_matches(';').trim_end_matches('u').parse().unwrap();
        let ours =
            known.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("`{name}` is no constant of megaloop"));
        assert_eq!(value, ours.1, "`{name}`");
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} constants");
    // It declares every constant megaloop gives.
    for c in KernelConstant::ALL.iter() {
        assert!(wgsl.contains(&format!("override {}: u32", c.name())), "{}", c.name());
    }
}

fn load_error(wgsl: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kernel.wgsl");
    std::fs::write(&path, wgsl).unwrap();
    UserKernel::load(&path).unwrap_err()
}

#[test]
fn kernels_that_break_the_contract_are_refused_with_the_reason() {
    let caps = r#"// megaloop-engine: {"modes":["once"],"max_slots":64,"max_workgroups":1}"#;
    let body = "@compute @workgroup_size(WORKGROUP_SIZE) fn main() {}\noverride WORKGROUP_SIZE: u32 = 64u;\n";
    let ok = format!("{caps}\n{body}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.wgsl"), &ok).unwrap();
    UserKernel::load(&dir.path().join("ok.wgsl")).expect("a minimal kernel loads");

    let missing = UserKernel::load(Path::new("/nonexistent/kernel.wgsl")).unwrap_err();
    assert!(missing.contains("cannot read WGSL kernel `/nonexistent/kernel.wgsl`"), "{missing}");
    let no_caps = load_error(body);
    assert!(no_caps.contains("no capabilities line") && no_caps.contains("megaloop-engine:"), "{no_caps}");
    let two = load_error(&format!("{caps}\n{caps}\n{body}"));
    assert!(two.contains("more than one"), "{two}");
    let bad_json = load_error(&format!("// megaloop-engine: {{\"modes\":[\"once\"]}}\n{body}"));
    assert!(bad_json.contains("max_slots"), "{bad_json}");
    let bad_wgsl = load_error(&format!("{caps}\n{body}fn broken( {{"));
    assert!(bad_wgsl.contains("does not parse"), "{bad_wgsl}");
    let invalid = load_error(&format!("{caps}\n{body}fn f(p: ptr<storage, u32, read_write>) -> u32 {{ return *p; }}"));
    assert!(invalid.contains("not valid WGSL"), "{invalid}");
    let no_main = load_error(&format!("{caps}\n@compute @workgroup_size(1) fn other() {{}}"));
    assert!(no_main.contains("no compute entry point `main`"), "{no_main}");
    let fixed = load_error(&format!("{caps}\n@compute @workgroup_size(64) fn main() {{}}"));
    assert!(fixed.contains("fixed @workgroup_size(64)") && fixed.contains("workgroup_sizes"), "{fixed}");
    let switch = load_error(&format!(
        "// megaloop-engine: {{\"modes\":[\"once\"],\"max_slots\":64,\"max_workgroups\":1,\"faults\":[\"lost-add\"]}}\n{body}"
    ));
    assert!(switch.contains("fault switch `lost-add`") && switch.contains("override fault_lost_add: bool"), "{switch}");
    let unknown = load_error(&format!("{ok}override STRIDE: u32;\nfn f() -> u32 {{ return STRIDE; }}"));
    assert!(unknown.contains("`override STRIDE` has no default"), "{unknown}");
    let handlers = load_error(&format!(
        "// megaloop-engine: {{\"modes\":[\"once\"],\"max_slots\":64,\"max_workgroups\":1,\"user_handlers\":true}}\n{body}"
    ));
    assert!(handlers.contains("runs neither"), "{handlers}");
    // The engine names the file.
    let error = Instance::new(engine(Path::new("/nonexistent/kernel.wgsl"))).backend.err().unwrap();
    assert!(error.contains("/nonexistent/kernel.wgsl"), "{error}");
    assert_eq!("wgsl:k.wgsl".parse::<Engine>().unwrap(), engine(Path::new("k.wgsl")));
    assert!("wgsl:".parse::<Engine>().unwrap_err().contains("path of a WGSL kernel"));
    assert!("wgsl:k.wgsl+trusting-claim"
        .parse::<Engine>()
        .is_ok_and(|e| e == engine(Path::new("k.wgsl+trusting-claim"))));
}

/// Spec 3.6 names every constant megaloop gives a kernel.
#[test]
fn the_spec_names_every_kernel_constant() {
    let spec = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/protocol.md")).unwrap();
    let section = spec.split("### 3.6").nth(1).expect("spec 3.6");
    for c in KernelConstant::ALL.iter() {
        assert!(section.contains(&format!("`{}`", c.name())), "spec 3.6 does not name `{}`", c.name());
    }
}
