//! The interpreter against the IR semantics of specs/protocol.md part 1: every edge case
//! below is written from the spec (WGSL's rules), not from the implementation.

use megaloop::geometry::Geometry;
use megaloop::host::{Backend, Outcome};
use megaloop::ir::build::stmt::*;
use megaloop::ir::{
    validate, Access, AtomicOp, BinaryOp, BufferDecl, Expr, Program, ScalarType, Stmt, UnaryOp, WordRange,
};
use megaloop_sim::{Schedule, SimBackend};

const MIN: i32 = i32::MIN;

fn u(v: u32) -> Expr {
    Expr::u32(v)
}
fn i(v: i32) -> Expr {
    Expr::i32(v)
}
fn f(v: f32) -> Expr {
    Expr::f32(v)
}

/// (description, expression, expected word: u32 as is, i32/f32 bits, bool 0/1).
fn cases() -> Vec<(&'static str, Expr, ScalarType, u32)> {
    use ScalarType::*;
    let nan = f32::NAN;
    vec![
        ("u32 wrapping add", u(u32::MAX) + u(1), U32, 0),
        ("u32 wrapping sub", u(0) - u(1), U32, u32::MAX),
        ("u32 wrapping mul", u(0x10000) * u(0x10000), U32, 0),
        ("u32 x / 0 == x", u(7) / u(0), U32, 7),
        ("u32 x % 0 == 0", u(7) % u(0), U32, 0),
        ("u32 7 / 2", u(7) / u(2), U32, 3),
        ("shl amount mod 32", u(1) << u(33), U32, 2),
        ("u32 shr is logical, amount mod 32", u(0x8000_0000) >> u(35), U32, 0x1000_0000),
        ("i32 MIN / -1 == MIN", i(MIN) / i(-1), I32, MIN as u32),
        ("i32 MIN % -1 == 0", i(MIN) % i(-1), I32, 0),
        ("i32 truncating division", i(-7) / i(2), I32, (-3i32) as u32),
        ("i32 remainder takes the dividend's sign", i(-7) % i(2), I32, (-1i32) as u32),
        ("i32 x / 0 == x", i(5) / i(0), I32, 5),
        ("i32 x % 0 == 0", i(5) % i(0), I32, 0),
        ("i32 shr is arithmetic", i(-8) >> u(1), I32, (-4i32) as u32),
        ("i32 shr amount mod 32", i(-8) >> u(33), I32, (-4i32) as u32),
        ("i32 wrapping add", i(i32::MAX) + i(1), I32, MIN as u32),
        ("i32 neg MIN == MIN", -i(MIN), I32, MIN as u32),
        ("i32 signed compare", i(-1).lt(i(0)), Bool, 1),
        ("u32 unsigned compare", u(u32::MAX).lt(u(0)), Bool, 0),
        ("i32 min", i(-1).min(i(1)), I32, (-1i32) as u32),
        ("u32 max", u(3).max(u(u32::MAX)), U32, u32::MAX),
        ("bit not", Expr::unary(UnaryOp::BitNot, u(0)), U32, u32::MAX),
        ("xor", u(0b1100) ^ u(0b1010), U32, 0b0110),
        ("f32 add rounds to nearest even", f(0.1) + f(0.2), F32, (0.1f32 + 0.2f32).to_bits()),
        ("f32 neg of 0.0 is -0.0", -f(0.0), F32, 0x8000_0000),
        ("f32 mul", f(1.5) * f(-2.0), F32, (-3.0f32).to_bits()),
        ("NaN != NaN", f(nan).eq(f(nan)), Bool, 0),
        ("NaN compares false", f(nan).lt(f(1.0)), Bool, 0),
        ("-0.0 == 0.0", f(-0.0).eq(f(0.0)), Bool, 1),
        ("f32 -> u32 truncates", f(3.9).cast(U32), U32, 3),
        ("f32 -> u32 saturates below", f(-1.5).cast(U32), U32, 0),
        ("f32 -> u32 saturates above", f(1e10).cast(U32), U32, u32::MAX),
        ("f32 NaN -> u32 is 0", f(nan).cast(U32), U32, 0),
        ("f32 -> i32 truncates toward zero", f(-3.9).cast(I32), I32, (-3i32) as u32),
        ("f32 -> i32 saturates above", f(1e10).cast(I32), I32, i32::MAX as u32),
        ("f32 -> i32 saturates below", f(-1e10).cast(I32), I32, MIN as u32),
        ("u32 -> f32 rounds to nearest even", u(16_777_217).cast(F32), F32, 16_777_216f32.to_bits()),
        ("i32 -> f32", i(-2).cast(F32), F32, (-2.0f32).to_bits()),
        ("u32 <-> i32 keeps bits", u(u32::MAX).cast(I32), I32, u32::MAX),
        ("bool -> u32", Expr::bool(true).cast(U32), U32, 1),
        ("u32 -> bool", u(5).cast(Bool), Bool, 1),
        ("bool -> f32", Expr::bool(true).cast(F32), F32, 1.0f32.to_bits()),
        ("f32 NaN -> bool is true", f(nan).cast(Bool), Bool, 1),
        ("f32 -0.0 -> bool is false", f(-0.0).cast(Bool), Bool, 0),
        ("bitcast f32 -> u32", f(1.0).bitcast(U32), U32, 0x3F80_0000),
        ("bitcast u32 -> f32", u(0x4000_0000).bitcast(F32), F32, 0x4000_0000),
        ("select", Expr::select(Expr::bool(false), u(1), u(2)), U32, 2),
        ("logical", Expr::bool(true).and(Expr::bool(false)).or(Expr::bool(true)), Bool, 1),
        ("not", !Expr::bool(true), Bool, 0),
        ("out-of-bounds load reads 0", Expr::load("out", u(1_000_000)), U32, 0),
        ("buffer length", Expr::buffer_len("out"), U32, 128),
        ("builtins", Expr::builtin(megaloop::ir::Builtin::WorkgroupSize), U32, 1),
        ("binary rem f32 is x - y * trunc(x / y)", f(7.5) % f(2.0), F32, 1.5f32.to_bits()),
        ("binary shift i32 left", Expr::binary(BinaryOp::Shl, i(-1), u(31)), I32, 0x8000_0000),
    ]
}

fn word(e: Expr, ty: ScalarType) -> Expr {
    match ty {
        ScalarType::U32 => e,
        ScalarType::I32 | ScalarType::F32 => e.bitcast(ScalarType::U32),
        ScalarType::Bool => e.cast(ScalarType::U32),
    }
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
fn every_op_matches_the_spec() {
    let cases = cases();
    let body =
        cases.iter().enumerate().map(|(k, (_, e, ty, _))| store("out", u(k as u32), word(e.clone(), *ty))).collect();
    let mut out = vec![0xDEAD_BEEF; 128];
    run(body, &mut out);
    let wrong: Vec<String> = cases
        .iter()
        .enumerate()
        .filter(|(k, c)| out[*k] != c.3)
        .map(|(k, (name, _, _, want))| format!("{name}: got {:#010x}, expected {want:#010x}", out[k]))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
        Outcome::FuelExhausted { lanes } => {
            assert_eq!(lanes.len(), 1);
            assert_eq!(lanes[0].loop_path, "body[23]");
        }
        other => panic!("the first loop ran out of fuel: that is an outcome to report, got {other:?}"),
    }
}
