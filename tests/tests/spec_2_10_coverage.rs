//! Spec 2.10 promises that every word it names is compared bit for bit or checked by an
//! invariant. This test walks the section's list (each word named in backticks), corrupts
//! each word of a real drained run in turn, and fails unless the harness's comparison or
//! its invariants notice: a word the spec lists but the harness ignores fails here.

use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop::protocol::layout::LAYOUT;
use megaloop_conformance::diff::{compare, invariants, run_on};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::snapshot::Snapshot;

/// The backticked upper-case names of spec 2.10.
fn listed_words() -> Vec<String> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/protocol.md")).unwrap();
    let start = spec.find("### 2.10 ").expect("spec section 2.10");
    let section = &spec[start..];
    let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
    let mut names: Vec<String> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.len() > 1 && t.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn constant(name: &str) -> Option<u32> {
    LAYOUT.iter().find(|e| e.name == name).map(|e| e.value)
}

#[test]
fn every_word_spec_2_10_lists_is_compared_or_checked() {
    let names = listed_words();
    assert!(names.len() >= 15, "spec 2.10 names too few words in backticks: {names:?}");
    let mut instance = Instance::new(Engine::SimParallel);
    let mut config = RunConfig::new(Mode::Priority);
    config.max_workgroups = 2;
    let (mut run, reference) = run_on(&mut instance, &Workload::mixed(300), &config).unwrap();
    assert!(invariants(&run).is_empty(), "the clean run breaks an invariant: {:?}", invariants(&run));
    let mut unnoticed = Vec::new();
    for name in &names {
        if let Some(word) = constant(&format!("CTRL_{name}")) {
            // Control words (tables: their first word), corrupted far past any bound.
            let old = run.ring.buffers()[megaloop::host::io::buffer_index::CONTROL][word as usize];
            run.ring.set_control_word(word, old ^ 0x4000_0001);
            let noticed = Snapshot::of(&run.ring).map(|s| !compare(&reference, &s).is_empty()).unwrap_or(true)
                || !invariants(&run).is_empty();
            run.ring.set_control_word(word, old);
            if !noticed {
                unnoticed.push(name.clone());
            }
        } else if let Some(word) = constant(&format!("SLOT_{name}")) {
            // Slot words: compared through the snapshot's decoded slots.
            let mut corrupted = reference.clone();
            let slot = &mut corrupted.slots[3];
            match word {
                w if w == megaloop::protocol::layout::SLOT_STATUS => {
                    slot.status = megaloop::protocol::Status::Fault;
                }
                w if w == megaloop::protocol::layout::SLOT_OPCODE => slot.opcode ^= 1,
                w if w == megaloop::protocol::layout::SLOT_TENANT => slot.tenant ^= 1,
                w if w == megaloop::protocol::layout::SLOT_PRIORITY => slot.priority ^= 1,
                _ => panic!("spec 2.10 names slot word {name}, which this test cannot corrupt"),
            }
            if compare(&reference, &corrupted).is_empty() {
                unnoticed.push(name.clone());
            }
        } else {
            panic!("spec 2.10 names `{name}`, which is neither a control word (CTRL_{name}) nor a slot word (SLOT_{name}) of the layout");
        }
    }
    assert!(unnoticed.is_empty(), "spec 2.10 lists these words, but corrupting them goes unnoticed: {unnoticed:?}");
}
