//! loom smoke model of the real interpreter: two lanes of a priority-mode builder
//! program (every lane scans every slot) race for two published slots over loom's atomics; in every explored interleaving each
//! slot runs exactly once. (The full loom suite lives with its own issue.)
#![cfg(loom)]

use megaloop::builder::{build, BuildOptions, Mode};
use megaloop::geometry::Geometry;
use megaloop::protocol::control::Control;
use megaloop::protocol::layout::*;
use megaloop::protocol::opcode::ATOMIC_ADD;
use megaloop::protocol::ring::{encode_ring, Slot};
use megaloop_sim::memory::Memory;
use megaloop_sim::{compile::compile, schedule};
use std::sync::Arc;

#[test]
fn two_lanes_claim_each_slot_once() {
    let mut opts = BuildOptions::new(Mode::Priority, 2);
    opts.workgroup_size = 1;
    opts.heap_words = 2;
    opts.jit_builtins = vec![];
    let program = build(&opts).unwrap();
    let code = Arc::new(compile(&program).unwrap());
    let mut control = Control::new(2, opts.observables, 3);
    control.tenant_masks[0] = 1;
    control.drain_target = 2;
    let ring = encode_ring(&[
        Slot::published(ATOMIC_ADD, 0, 2, &[0, 1]).unwrap(),
        Slot::published(ATOMIC_ADD, 0, 2, &[1, 1]).unwrap(),
    ]);
    let host: Vec<Vec<u32>> = program
        .buffers
        .iter()
        .enumerate()
        .map(|(i, b)| match i {
            0 => control.encode().unwrap(),
            1 => ring.clone(),
            _ => vec![0; b.words as usize],
        })
        .collect();
    // Two lanes, one workgroup of one lane each, both scanning both slots.
    let geometry = Geometry { workgroup_size: 1, workgroups: 2, slots: 2 };
    static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    loom::model(move || {
        EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mem = Arc::new(Memory::from_host(&host));
        schedule::loom::run(code.clone(), mem.clone(), geometry).unwrap();
        use megaloop::host::LiveMemory;
        assert_eq!(mem.load(4, 0), 1, "slot 0 ran once");
        assert_eq!(mem.load(4, 1), 1, "slot 1 ran once");
        assert_eq!(mem.load(0, CTRL_DONE_COUNT as usize), 2);
    });
    let n = EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed);
    println!("loom explored {n} executions");
    assert!(n > 1, "loom explored a single execution: the lanes never raced");
}
