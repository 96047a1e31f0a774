//! `megaloop litmus` end to end: `--test` runs the test with its mutant, `--json` is the
//! whole report, the table names the verdicts and the mutation score, and `--list`
//! names every test of the catalogue.

use std::process::Command;

fn megaloop(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_megaloop")).args(args).output().expect("run megaloop");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn json_has_the_picked_test_and_its_mutant_with_counts_that_add_up() {
    let args = ["litmus", "--engine", "sim-det:2", "--test", "claim", "--iterations", "2", "--json"];
    let (code, out) = megaloop(&args);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tests = report["tests"].as_array().unwrap();
    let names: Vec<&str> = tests.iter().map(|t| t["test"].as_str().unwrap()).collect();
    assert_eq!(names, ["claim", "claim~load-store"]);
    for t in tests {
        let sum: u64 = t["outcomes"].as_array().unwrap().iter().map(|o| o["count"].as_u64().unwrap()).sum();
        assert_eq!(sum, t["instances"].as_u64().unwrap());
        assert_eq!(t["iterations"], 2);
    }
    assert_eq!(tests[0]["verdict"], "pass");
    assert_eq!(report["mutants"], 1);
}

#[test]
fn the_table_gives_verdicts_and_the_mutation_score_and_list_names_every_test() {
    let (code, out) = megaloop(&["litmus", "--engine", "sim-det:2", "--test", "sb", "--iterations", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sb ") && out.contains("sb~reversed") && out.contains("mutation score: "), "{out}");
    let (code, list) = megaloop(&["litmus", "--list"]);
    assert_eq!(code, 0);
    for t in megaloop::litmus::CATALOGUE {
        assert!(list.lines().any(|l| l.starts_with(&format!("{} ", t.name))), "--list misses {}", t.name);
    }
}
