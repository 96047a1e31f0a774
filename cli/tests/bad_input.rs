//! The bad-input corpus: every way a user has given megaloop bad input that we know of, as
//! a table of input -> exit code -> message fragment. Bad input is never a panic, a
//! hang, an abort or a wrong result: it is exit 2 with a message that names what was wrong
//! and where (a flag, a JSON path, a file); a run that goes wrong is exit 1 with the
//! reason. Every case runs the real binary with a time limit.

use megaloop::ir::build::stmt::{assign, atomic_add, for_, if_, let_u32};
use megaloop::ir::{Expr, Program, UnaryOp};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One case: what to run, what it must exit with, what its stderr must say.
struct Case {
    name: &'static str,
    args: Vec<String>,
    exit: i32,
    says: &'static str,
}

/// A scratch directory of the test's own, with files made for the cases.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

/// A workload document with `extra` fields spliced into its top level.
fn workload(extra: &str) -> String {
    format!(r#"{{"name": "bad", "tenants": [{{"id": 0, "mask": 1}}], "slots": [{{"opcode": "NOP"}}]{extra}}}"#)
}

/// `wrap(MARK)` serialised, split around `MARK`'s JSON: one level of nesting as text, so
/// documents far deeper than serde can write are made from the real JSON form.
fn level<T: serde::Serialize + Clone>(mark: &T, wrap: impl Fn(T) -> T) -> (String, String) {
    let inner = serde_json::to_string(mark).unwrap();
    let outer = serde_json::to_string(&wrap(mark.clone())).unwrap();
    let at = outer.find(&inner).expect("the mark appears in its wrapping");
    (outer[..at].to_string(), outer[at + inner.len()..].to_string())
}

/// `mark` wrapped `depth` times by `wrap`, as JSON text.
fn nested<T: serde::Serialize + Clone>(mark: T, depth: usize, wrap: impl Fn(T) -> T) -> String {
    let (open, close) = level(&mark, wrap);
    format!("{}{}{}", open.repeat(depth), serde_json::to_string(&mark).unwrap(), close.repeat(depth))
}

/// A workload with one handler whose body is `body` (JSON text of a block).
fn handler_workload(body: &str) -> String {
    format!(
        r#"{{"name": "h", "tenants": [{{"id": 0, "mask": 1}}], "handlers": [{{"name": "h", "opcode": 28672, "body": {body}}}], "slots": [{{"opcode": 28672}}]}}"#
    )
}

/// A handler whose body nests `depth` expressions (a chain of `bit_not`).
fn deep_expression_workload(depth: usize) -> String {
    let expr = nested(Expr::u32(1), depth, |e| Expr::unary(UnaryOp::BitNot, e));
    let stmt = serde_json::to_string(&let_u32("x", Expr::u32(7))).unwrap().replace("{\"literal\":{\"u32\":7}}", &expr);
    handler_workload(&format!("[{stmt}]"))
}

/// A program whose body nests `depth` `if`s.
fn deep_program(depth: usize) -> String {
    let mark = assign("x", Expr::u32(0));
    let body = nested(mark, depth, |s| if_(Expr::bool(true), vec![s]));
    let program = Program { name: "deep".into(), workgroup_size: 1, buffers: vec![], body: vec![] };
    serde_json::to_string(&program).unwrap().replace("\"body\":[]", &format!("\"body\":[{body}]"))
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn cases(f: &Files) -> Vec<Case> {
    let fifo = f.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
    assert!(made, "mkfifo");
    let fifo = fifo.to_str().unwrap().to_string();
    let typo = f.write("typo.json", &workload(r#", "tenats": []"#));
    let dup = f.write(
        "dup.json",
        r#"{"name": "dup", "tenants": [{"id": 0, "mask": 1}, {"id": 0, "mask": 0}], "slots": [{"opcode": "NOP"}]}"#,
    );
    let slot_typo = f.write("slot-typo.json", r#"{"name": "s", "slots": [{"opcode": "NOP", "prio": 1}]}"#);
    let huge_file =
        f.write("huge-file.json", &workload(r#", "files": [{"generated": {"len": 1000000000000, "seed": 1}}]"#));
    let bad_tenant = f
        .write("bad-tenant.json", r#"{"name": "t", "tenants": [{"id": 40, "mask": 1}], "slots": [{"opcode": "NOP"}]}"#);
    let bad_heap = f.write(
        "bad-heap.json",
        &workload(r#", "heap_words": 16, "heap_init": [{"at": 10, "words": [1,2,3,4,5,6,7]}]"#),
    );
    let bad_op = f.write("bad-op.json", r#"{"name": "o", "slots": [{"opcode": "NOSUCH"}]}"#);
    let many_args = f.write(
        "many-args.json",
        r#"{"name": "a", "slots": [{"opcode": "NOP", "args": [1,2,3,4,5,6,7,8,9,10,11,12,13]}]}"#,
    );
    let not_json = f.write("not.json", "{ this is not json");
    let deep_expr = f.write("deep-expr.json", &deep_expression_workload(100_000));
    let deep_if = f.write("deep-if.json", &deep_program(50_000));
    let deep_check = f.write("deep-check.json", &deep_program(300_000));
    let program_typo =
        f.write("program-typo.json", r#"{"name": "p", "workgroup_size": 1, "buffers": [], "body": [], "bodyy": []}"#);
    let small = f.write("small.bin", "abcd");
    let missing_io_file = f.write(
        "missing-io-file.json",
        r#"{"name": "m", "tenants": [{"id": 0, "mask": 1}], "files": [{"path": "/nonexistent/megaloop-input.bin"}],
            "slots": [{"opcode": "LOAD_MISS", "args": [0, 0, 0, 8, 16, 0]}]}"#,
    );
    let missing = f.path("missing.json").to_str().unwrap().to_string();
    let unwritable = f.path("no-such-dir/report.xml").to_str().unwrap().to_string();
    let run_wl = |p: &str| args(&["run", "--workload", p]);
    let diff_wl = |p: &str| args(&["diff", "--workload", p, "--engine", "sim", "--engine", "sim-det:0"]);
    vec![
        Case {
            name: "run: slots over the ring",
            args: args(&["run", "--slots", "4294967295"]),
            exit: 2,
            says: "--slots 4294967295: a ring holds 1 to",
        },
        Case { name: "run: zero slots", args: args(&["run", "--slots", "0"]), exit: 2, says: "--slots 0" },
        Case {
            name: "run: IO queue of 0 entries",
            args: args(&["run", "--io-entries", "0"]),
            exit: 2,
            says: "--io-entries 0: an IO queue has 1 to",
        },
        Case {
            name: "diff: IO queue past a buffer",
            args: args(&["diff", "--io-entries", "4294967295"]),
            exit: 2,
            says: "--io-entries 4294967295",
        },
        Case {
            name: "bench: slots over the ring",
            args: args(&["bench", "--slots", "4294967295"]),
            exit: 2,
            says: "a ring holds",
        },
        Case {
            name: "diff: slots over the ring",
            args: args(&["diff", "--slots", "30000000", "--engine", "sim"]),
            exit: 2,
            says: "--slots 30000000",
        },
        Case {
            name: "diff: seeds overflow",
            args: args(&["diff", "--seeds", "18446744073709551615"]),
            exit: 2,
            says: "--seeds 18446744073709551615: at most 64",
        },
        Case {
            name: "diff: unknown adapter",
            args: args(&["diff", "--slots", "10", "--engine", "gpu:nosuch"]),
            exit: 2,
            says: "no adapter matches `nosuch`",
        },
        Case {
            name: "diff: unknown engine",
            args: args(&["diff", "--engine", "nosuch"]),
            exit: 2,
            says: "unknown engine `nosuch`",
        },
        Case {
            name: "diff: unknown planted fault",
            args: args(&["diff", "--engine", "sim+nosuch"]),
            exit: 2,
            says: "unknown planted fault `nosuch`",
        },
        Case { name: "diff: invalid workload values", args: diff_wl(&bad_heap), exit: 2, says: "heap_init[0]" },
        Case { name: "diff: tenant outside the mask table", args: diff_wl(&bad_tenant), exit: 2, says: "tenants[0]" },
        Case { name: "diff: timeout zero", args: args(&["diff", "--timeout", "0"]), exit: 2, says: "--timeout 0" },
        Case {
            name: "bench: infinite warm-up",
            args: args(&["bench", "--warmup-s", "inf"]),
            exit: 2,
            says: "--warmup-s inf",
        },
        Case {
            name: "bench: NaN warm-up",
            args: args(&["bench", "--warmup-s", "NaN"]),
            exit: 2,
            says: "--warmup-s NaN",
        },
        Case {
            name: "bench: IO file /dev/zero",
            args: args(&["bench", "--io-file", "/dev/zero"]),
            exit: 2,
            says: "is a device",
        },
        Case {
            name: "bench: IO file a FIFO",
            args: args(&["bench", "--io-file", &fifo]),
            exit: 2,
            says: "is a pipe (FIFO)",
        },
        Case {
            name: "stream: /dev/zero",
            args: args(&["run", "--builtin", "stream-checksum", "--input", "/dev/zero"]),
            exit: 2,
            says: "is a device",
        },
        Case {
            name: "stream: FIFO without a writer",
            args: args(&["run", "--builtin", "stream-checksum", "--input", &fifo]),
            exit: 2,
            says: "is a pipe (FIFO)",
        },
        Case {
            name: "stream: /proc file of size 0",
            args: args(&["run", "--builtin", "stream-checksum", "--input", "/proc/cpuinfo"]),
            exit: 2,
            says: "more bytes than its size said (0)",
        },
        Case {
            name: "stream: chunk not a multiple of 4",
            args: args(&["run", "--builtin", "stream-checksum", "--input", &small, "--chunk", "6"]),
            exit: 2,
            says: "--chunk 6",
        },
        Case {
            name: "stream: piece not dividing the chunk",
            args: args(&[
                "run",
                "--builtin",
                "stream-checksum",
                "--input",
                &small,
                "--chunk",
                "1024",
                "--piece",
                "384",
            ]),
            exit: 2,
            says: "--piece 384",
        },
        Case {
            name: "stream: a wave of no chunks",
            args: args(&["run", "--builtin", "stream-checksum", "--input", &small, "--wave", "0"]),
            exit: 2,
            says: "--wave 0",
        },
        Case {
            name: "stream: windows larger than a buffer",
            args: args(&[
                "run",
                "--builtin",
                "stream-checksum",
                "--input",
                &small,
                "--chunk",
                "4194304",
                "--wave",
                "64",
            ]),
            exit: 2,
            says: "two landing windows need",
        },
        Case {
            name: "stream: no input",
            args: args(&["run", "--builtin", "stream-checksum"]),
            exit: 2,
            says: "--input",
        },
        Case {
            name: "run: input without stream-checksum",
            args: args(&["run", "--input", &small]),
            exit: 2,
            says: "--input is for --builtin stream-checksum",
        },
        Case {
            name: "run: unknown built-in",
            args: args(&["run", "--builtin", "nosuch"]),
            exit: 2,
            says: "unknown built-in workload `nosuch`",
        },
        Case {
            name: "run: workgroup of 0 lanes",
            args: args(&["run", "--workgroup-size", "0"]),
            exit: 2,
            says: "--workgroup-size 0: a workgroup has 1 to 256 lanes",
        },
        Case {
            name: "run: workgroup of 1024 lanes",
            args: args(&["run", "--workgroup-size", "1024", "--mode", "persistent"]),
            exit: 2,
            says: "--workgroup-size 1024",
        },
        Case {
            name: "run: zero workgroups",
            args: args(&["run", "--workgroups", "0"]),
            exit: 2,
            says: "--workgroups must be at least 1",
        },
        Case {
            name: "run: zero epochs",
            args: args(&["run", "--max-epochs", "0"]),
            exit: 2,
            says: "--max-epochs must be at least 1",
        },
        Case {
            name: "run: infinite timeout",
            args: args(&["run", "--timeout", "inf"]),
            exit: 2,
            says: "--timeout inf",
        },
        Case {
            name: "devices: workgroup of 0 lanes",
            args: args(&["devices", "--workgroup-size", "0"]),
            exit: 2,
            says: "--workgroup-size 0",
        },
        Case {
            name: "conformance: unknown adapter",
            args: args(&["conformance", "--adapter", "nosuch"]),
            exit: 2,
            says: "no adapter matches `nosuch`",
        },
        Case {
            name: "conformance: unwritable JUnit path",
            args: args(&["conformance", "--backend", "sim", "--junit", &unwritable]),
            exit: 2,
            says: "cannot write the report",
        },
        Case {
            name: "conformance: filter matching nothing",
            args: args(&["conformance", "--filter", "no-such-vector"]),
            exit: 2,
            says: "has `no-such-vector` in its name",
        },
        Case { name: "workload: unknown key", args: run_wl(&typo), exit: 2, says: "unknown field `tenats`" },
        Case { name: "workload: unknown slot key", args: run_wl(&slot_typo), exit: 2, says: "unknown field `prio`" },
        Case {
            name: "workload: duplicate tenant id",
            args: run_wl(&dup),
            exit: 2,
            says: "tenants[1]: tenant 0 is already given at tenants[0]",
        },
        Case {
            name: "workload: generated file of 10^12 bytes",
            args: run_wl(&huge_file),
            exit: 2,
            says: "files[0].generated.len",
        },
        Case {
            name: "workload: unknown opcode name",
            args: run_wl(&bad_op),
            exit: 2,
            says: "slots[0].opcode: `NOSUCH`",
        },
        Case { name: "workload: too many arguments", args: run_wl(&many_args), exit: 2, says: "slots[0].args" },
        Case { name: "workload: not JSON", args: run_wl(&not_json), exit: 2, says: "is not valid" },
        // The slot's request fails (it FAULTs, the run is trusted); the open error is shown.
        Case {
            name: "workload: IO file that cannot be opened",
            args: run_wl(&missing_io_file),
            exit: 0,
            says: "files[0] /nonexistent/megaloop-input.bin: No such file",
        },
        Case { name: "workload: missing file", args: run_wl(&missing), exit: 2, says: "missing.json: No such file" },
        Case { name: "workload: a FIFO", args: run_wl(&fifo), exit: 2, says: "not a regular file" },
        Case {
            name: "workload: 100,000 nested expressions",
            args: run_wl(&deep_expr),
            exit: 2,
            says: "nested deeper than 1024",
        },
        Case { name: "diff: 50,000 nested ifs", args: diff_wl(&deep_if), exit: 2, says: "nested deeper than 1024" },
        Case {
            name: "check: 300,000 nested ifs",
            args: args(&["check", &deep_check]),
            exit: 2,
            says: "nested deeper than 1024",
        },
        Case {
            name: "wgsl: 300,000 nested ifs",
            args: args(&["wgsl", "--program", &deep_check]),
            exit: 2,
            says: "nested deeper than 1024",
        },
        Case {
            name: "check: unknown program key",
            args: args(&["check", &program_typo]),
            exit: 2,
            says: "unknown field `bodyy`",
        },
        Case {
            name: "litmus: an unknown test",
            args: args(&["litmus", "--engine", "sim", "--test", "mpp"]),
            exit: 2,
            says: "--test mpp: no such litmus test; the tests are corr,",
        },
        Case {
            name: "litmus: a workgroup size not a power of two",
            args: args(&["litmus", "--engine", "sim", "--workgroup-size", "48"]),
            exit: 2,
            says: "--workgroup-size 48: a power of two",
        },
        Case {
            name: "litmus: too few workgroups for iriw's roles",
            args: args(&["litmus", "--engine", "sim", "--test", "iriw", "--testing-workgroups", "3"]),
            exit: 2,
            says: "`iriw` puts its 4 roles in different workgroups, so it needs at least 4",
        },
        Case {
            name: "litmus: endless stress",
            args: args(&["litmus", "--engine", "sim", "--stress-iterations", "4294967295"]),
            exit: 2,
            says: "--stress-iterations 4294967295: at most 65536",
        },
        Case {
            name: "litmus: more workgroups than a grid has",
            args: args(&["litmus", "--engine", "sim", "--stress-workgroups", "4294967295"]),
            exit: 2,
            says: "at most 65535",
        },
        Case {
            name: "litmus: zero iterations",
            args: args(&["litmus", "--engine", "sim", "--iterations", "0"]),
            exit: 2,
            says: "--iterations must be at least 1",
        },
        Case {
            name: "litmus: an external engine",
            args: args(&["litmus", "--engine", "exec:/bin/true"]),
            exit: 2,
            says: "litmus tests are IR programs",
        },
        Case {
            name: "check: a directory",
            args: args(&["check", f.dir.path().to_str().unwrap()]),
            exit: 2,
            says: "is a directory",
        },
    ]
}

/// Run megaloop with `args`, at most `limit`; its exit code (or -signal) and stderr.
fn run(args: &[String], limit: Duration) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_megaloop"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run megaloop");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            use std::os::unix::process::ExitStatusExt;
            return (status.code().unwrap_or_else(|| -status.signal().unwrap_or(0)), stderr);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("megaloop {} hung for more than {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_bad_input_exits_with_its_code_and_says_what_was_wrong() {
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let cases = cases(&files);
    let mut failures = Vec::new();
    println!("{:<44} {:>4}  message", "case", "exit");
    for case in &cases {
        let (code, stderr) = run(&case.args, Duration::from_secs(120));
        let said = stderr.lines().find(|l| l.contains(case.says)).unwrap_or("").trim().to_string();
        println!("{:<44} {code:>4}  {}", case.name, if said.is_empty() { stderr.trim() } else { &said });
        if code != case.exit || !stderr.contains(case.says) || stderr.contains("panicked") {
            failures.push(format!(
                "{}: `megaloop {}` exited {code} (want {}), stderr does not say `{}`:\n{stderr}",
                case.name,
                case.args.join(" "),
                case.exit,
                case.says
            ));
        }
    }
    println!("{} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_unwritable_stdout_is_an_error_and_a_closed_one_ends_quietly() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    if let Ok(full) = full {
        let out = Command::new(env!("CARGO_BIN_EXE_megaloop")).arg("spec").stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot write to standard output") && !stderr.contains("panicked"), "{stderr}");
    }
    // A reader that goes away: the write fails with EPIPE, SIGPIPE ends the process
    // without a word (the output is larger than a pipe's buffer, so the write must block).
    let mut child = Command::new(env!("CARGO_BIN_EXE_megaloop"))
        .args(["spec", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A workload whose one slot's handler loops 2^32 x 2^32 times.
fn endless(files: &Files) -> String {
    let inner = for_("j", Expr::u32(0), Expr::u32(u32::MAX), vec![atomic_add("heap", Expr::u32(0), Expr::u32(1))]);
    let outer = for_("i", Expr::u32(0), Expr::u32(u32::MAX), vec![inner]);
    files.write("endless.json", &handler_workload(&serde_json::to_string(&vec![outer]).unwrap()))
}

#[test]
fn sigint_stops_a_run_cleanly_with_exit_130() {
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let w = endless(&files);
    for mode in ["once", "persistent"] {
        let child = Command::new(env!("CARGO_BIN_EXE_megaloop"))
            .args(["run", "--workload", &w, "--mode", mode])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
        let start = Instant::now();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(start.elapsed() < Duration::from_secs(10), "{mode}: took {:?} to stop", start.elapsed());
        assert_eq!(out.status.code(), Some(130), "{mode}: {stderr}");
        assert!(stderr.contains("interrupted") && !stderr.contains("panicked"), "{mode}: {stderr}");
        assert!(out.stdout.is_empty(), "{mode}: no result is printed from a stopped run");
    }
}

#[test]
fn a_handler_that_loops_for_ever_is_stopped_by_the_timeout_naming_the_epoch() {
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let w = endless(&files);
    for mode in ["once", "persistent"] {
        let (code, stderr) =
            run(&args(&["run", "--workload", &w, "--mode", mode, "--timeout", "0.5"]), Duration::from_secs(60));
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(
            stderr.contains("epoch 0") && stderr.contains(mode) && stderr.contains("did not finish within 500ms"),
            "{mode}: {stderr}"
        );
    }
}
