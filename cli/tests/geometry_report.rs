//! `run --json` and `bench --json` say which grid they launched and why: the rule with its
//! inputs (`chosen_by` / `geometry_rule`) and the rule in words; a grid the user gave is
//! reported as given, and the GPU (lavapipe in CI) advises one when left to choose.

use std::process::Command;

fn megaloop_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_megaloop")).args(args).output().expect("run megaloop");
    assert!(out.status.success(), "megaloop {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("megaloop {args:?}: not JSON ({e})"))
}

fn gpu_present() -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_megaloop")).arg("devices").output().expect("run megaloop");
    let found = out.status.success() && String::from_utf8_lossy(&out.stdout).contains("[0]");
    if !found {
        println!("SKIPPED the GPU half: no GPU adapter at all");
    }
    found
}

#[test]
fn run_json_says_which_grid_and_why() {
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--builtin", "trivial", "--slots", "3000", "--json"];
        args.extend_from_slice(extra);
        megaloop_json(&args)
    };
    // The parallel simulator advises workgroups per worker thread, never more than one lane
    // per slot (3000 slots of 64 lanes: 47 workgroups).
    let g = &run(&["--backend", "sim", "--mode", "once"])["geometry"];
    assert_eq!(g["chosen_by"]["rule"], "host_threads", "{g}");
    assert!(g["chosen_by"]["threads"].as_u64().is_some_and(|t| t >= 1), "{g}");
    assert_eq!(g["workgroups"], 47, "{g}");
    let g = &run(&["--backend", "sim-det", "--mode", "once"])["geometry"];
    assert_eq!((g["chosen_by"]["rule"].as_str(), g["workgroups"].as_u64()), (Some("given"), Some(4)), "{g}");
    let g = &run(&["--backend", "sim", "--mode", "once", "--workgroups", "3"])["geometry"];
    assert_eq!((g["chosen_by"]["rule"].as_str(), g["workgroups"].as_u64()), (Some("given"), Some(3)), "{g}");
    assert!(g["why"].as_str().is_some_and(|w| w.contains("as asked")), "{g}");
    if gpu_present() {
        for mode in ["once", "persistent"] {
            let r = run(&["--backend", "gpu", "--mode", mode]);
            let g = &r["geometry"];
            let rule = g["chosen_by"]["rule"].as_str().unwrap_or_default();
            assert!(["host_threads", "co_resident_share"].contains(&rule), "{mode}: {g}");
            assert!(!g["why"].as_str().unwrap_or_default().is_empty(), "{mode}: {g}");
            assert_eq!(r["trusted"], true, "{mode}: {r}");
        }
    }
}

#[test]
fn bench_json_records_geometry_and_times_per_mode() {
    let b = megaloop_json(&["bench", "--backend", "sim", "--slots", "2000", "--repeat", "1", "--json"]);
    let rows = b["results"].as_array().expect("results");
    assert_eq!(rows.len(), 2, "once and persistent: {b}");
    for r in rows {
        for key in ["workgroups", "workgroup_size", "program_s", "wall_s", "slots_per_s", "geometry_why"] {
            assert!(!r[key].is_null(), "{key} missing: {r}");
        }
        assert!(r["geometry_rule"]["rule"].is_string(), "{r}");
        assert!(r["program_s"].as_f64().unwrap() > 0.0 && r["wall_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert!(b["backend"].as_str().is_some_and(|s| s.starts_with("sim")), "{b}");
}
