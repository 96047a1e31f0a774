//! The interpreter against the statement semantics of specs/protocol.md part 1 (1.5):
//! out-of-bounds stores and atomics, every atomic op, loops and fuel, written from the spec.
//! The expression table (every op at its edge values) is data every engine runs: the
//! corpus's `ir/semantics_*` vectors, complete by tests/tests/semantics_table.rs.

use megaloop::geometry::Geometry;
use megaloop::host::{Backend, Outcome};
use megaloop::ir::build::stmt::*;
use megaloop::ir::{validate, Access, AtomicOp, BufferDecl, Expr, Program, Stmt, WordRange};
use megaloop_sim::{Schedule, SimBackend};

fn u(v: u32) -> Expr {
    Expr::u32(v)
}

fn run(body: Vec<Stmt>, out: &mut Vec<u32>) -> Outcome {
    let program = Program {
        name: "semantics".into(),
        workgroup_size: 1,
        buffers: vec![BufferDecl {
            name: "out".into(),
            binding: 0,
            access: Access::ReadWrite,
            words: 128,
            readback: Some(WordRange { start: 0, end: 128 }),
            device_only_from: None,
        }],
        body,
    };
    let program = validate(&program).unwrap_or_else(|e| panic!("{e}"));
    let mut buffers = vec![std::mem::take(out)];
    let mut backend = SimBackend::new(Schedule::Parallel);
    let g = Geometry { workgroup_size: 1, workgroups: 1, slots: 1 };
    let report = backend.run(&program, g, &mut buffers, None).unwrap();
    *out = buffers.pop().unwrap();
    report.outcome
}

#[test]
fn statements_match_the_spec() {
    let body = vec![
        // Out-of-bounds stores are dropped; out-of-bounds atomics write nothing and yield 0.
        store("out", u(500), u(9)),
        atomic(AtomicOp::Add, "out", u(500), vec![u(1)], Some("oob")),
        store("out", u(0), Expr::var("oob")),
        // Strong compare-exchange: old value, exchanged exactly when it matched.
        store("out", u(1), u(5)),
        compare_exchange("a", "out", u(1), u(5), u(6)),
        compare_exchange("b", "out", u(1), u(5), u(7)),
        store("out", u(2), Expr::var("a")),
        store("out", u(3), Expr::var("b")),
        // Every atomic op's old value and effect.
        store("out", u(10), u(0b1100)),
        atomic(AtomicOp::And, "out", u(10), vec![u(0b1010)], None),
        store("out", u(11), u(5)),
        atomic(AtomicOp::Min, "out", u(11), vec![u(u32::MAX)], None),
        atomic(AtomicOp::Max, "out", u(12), vec![u(u32::MAX)], None),
        atomic(AtomicOp::Exchange, "out", u(13), vec![u(4)], Some("ex")),
        store("out", u(14), Expr::var("ex")),
        atomic(AtomicOp::Sub, "out", u(15), vec![u(1)], None),
        atomic(AtomicOp::Xor, "out", u(16), vec![u(3)], None),
        atomic(AtomicOp::Or, "out", u(17), vec![u(8)], None),
        // An empty for loop runs nothing; a counted one runs from..to.
        let_u32("n", u(0)),
        for_("k", u(5), u(5), vec![assign("n", Expr::var("n") + u(100))]),
        for_("k", u(2), u(6), vec![assign("n", Expr::var("n") + Expr::var("k"))]),
        store("out", u(20), Expr::var("n")),
        // Fuel runs out: on_exhausted runs once; a break does not count as running out.
        let_u32("iters", u(0)),
        persistent_loop(
            u(3),
            Expr::bool(false),
            vec![assign("iters", Expr::var("iters") + u(1))],
            vec![store("out", u(21), u(1))],
        ),
        store("out", u(22), Expr::var("iters")),
        persistent_loop(u(3), Expr::bool(false), vec![Stmt::Break], vec![store("out", u(23), u(1))]),
        persistent_loop(u(3), Expr::bool(true), vec![], vec![store("out", u(24), u(1))]),
    ];
    let mut out = vec![0; 128];
    let outcome = run(body, &mut out);
    assert_eq!(out[0], 0, "out-of-bounds atomic yields 0");
    assert_eq!(&out[1..4], &[6, 5, 6], "compare-exchange");
    assert_eq!(&out[10..18], &[0b1000, 5, u32::MAX, 4, 0, u32::MAX, 3, 8], "atomics");
    assert_eq!(out[20], 2 + 3 + 4 + 5, "for loop");
    assert_eq!(&out[21..25], &[1, 3, 0, 0], "persistent loop fuel and on_exhausted");
    match outcome {
        Outcome::FuelExhausted { lanes, .. } => {
            assert_eq!(lanes.len(), 1);
            assert_eq!(lanes[0].loop_path, "body[23]");
        }
        other => panic!("the first loop ran out of fuel: that is an outcome to report, got {other:?}"),
    }
}
