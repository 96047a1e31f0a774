//! Tests of the IR: one per class of invalid program, a never-panics property over
//! arbitrary programs, exact serde round trips, and printer snapshots.

use crate::ir::build::stmt::*;
use crate::ir::*;
use proptest::prelude::*;

fn buffer(name: &str, binding: u32, words: u32) -> BufferDecl {
    BufferDecl {
        name: name.into(),
        binding,
        access: Access::ReadWrite,
        words,
        readback: Some(WordRange { start: 0, end: words }),
        device_only_from: None,
    }
}

fn program(body: Block) -> Program {
    Program { name: "t".into(), workgroup_size: 64, buffers: vec![buffer("data", 0, 16)], body }
}

fn gid() -> Expr {
    Expr::builtin(Builtin::GlobalInvocationId)
}

/// The kinds of errors a program produces, in order.
fn kinds(p: &Program) -> Vec<ErrorKind> {
    validate(p).expect_err("program should be rejected").0.into_iter().map(|e| e.kind).collect()
}

fn first_error(p: &Program) -> ValidationError {
    validate(p).expect_err("program should be rejected").0.remove(0)
}

#[test]
fn a_correct_program_validates() {
    let p = program(vec![
        let_u32("i", gid()),
        if_(
            Expr::var("i").lt(Expr::buffer_len("data")),
            vec![
                compare_exchange("old", "data", Expr::var("i"), Expr::u32(0), Expr::u32(1)),
                store("data", Expr::var("i"), Expr::var("old") + Expr::u32(1)),
            ],
        ),
        Stmt::Barrier,
        for_("k", Expr::u32(0), Expr::u32(4), vec![if_(Expr::var("k").eq(Expr::u32(2)), vec![Stmt::Break])]),
        persistent_loop(Expr::load("data", Expr::u32(0)), Expr::bool(false), vec![Stmt::Break], vec![Stmt::Return]),
    ]);
    let valid = validate(&p).expect("valid");
    assert_eq!(valid.program(), &p);
    assert_eq!(valid.buffer("data").map(|b| b.words), Some(16));
}

#[test]
fn unknown_variable_is_named_with_its_path() {
    let p = program(vec![let_u32("x", Expr::var("nope") + Expr::u32(1))]);
    let e = first_error(&p);
    assert_eq!(e.kind, ErrorKind::UnknownVariable { name: "nope".into() });
    assert_eq!(e.path, "body[0].value.lhs");
    assert_eq!(e.context, "let x: u32 = nope + 1u;");
    assert!(e.to_string().contains("declare it with `let`"), "{e}");
}

#[test]
fn variables_are_block_scoped() {
    let p =
        program(vec![if_(Expr::bool(true), vec![let_u32("inner", Expr::u32(1))]), let_u32("y", Expr::var("inner"))]);
    let e = first_error(&p);
    assert_eq!(e.kind, ErrorKind::UnknownVariable { name: "inner".into() });
    assert_eq!(e.path, "body[1].value");
}

#[test]
fn unknown_buffer_in_load_store_and_atomic() {
    let p = program(vec![
        let_u32("a", Expr::load("ring", Expr::u32(0))),
        store("ring", Expr::u32(0), Expr::u32(1)),
        atomic_add("ring", Expr::u32(0), Expr::u32(1)),
        let_u32("b", Expr::buffer_len("ring")),
    ]);
    let errs = validate(&p).unwrap_err().0;
    let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["body[0].value", "body[1].buffer", "body[2].buffer", "body[3].value"]);
    assert!(errs.iter().all(|e| e.kind == ErrorKind::UnknownBuffer { name: "ring".into() }));
}

#[test]
fn shadowing_and_redeclaration_are_rejected() {
    let p = program(vec![let_u32("x", Expr::u32(0)), if_(Expr::bool(true), vec![let_u32("x", Expr::u32(1))])]);
    let e = first_error(&p);
    assert_eq!(e.kind, ErrorKind::DuplicateVariable { name: "x".into() });
    assert_eq!(e.path, "body[1].then[0].name");
}

#[test]
fn sibling_blocks_may_reuse_a_name() {
    let p = program(vec![
        if_(Expr::bool(true), vec![let_u32("t", Expr::u32(0))]),
        if_(Expr::bool(true), vec![let_u32("t", Expr::u32(1))]),
    ]);
    validate(&p).expect("sibling scopes are independent");
}

#[test]
fn type_mismatches_say_what_was_expected() {
    let cases: Vec<(Stmt, &str)> = vec![
        (let_u32("x", Expr::i32(1)), "body[0].value"),
        (let_u32("x", Expr::u32(1) + Expr::i32(1)), "body[0].value.rhs"),
        (if_(Expr::u32(1), vec![]), "body[0].cond"),
        (store("data", Expr::i32(0), Expr::u32(1)), "body[0].index"),
        (store("data", Expr::u32(0), Expr::f32(1.0)), "body[0].value"),
        (let_u32("x", (Expr::bool(true) << Expr::u32(1)).cast(ScalarType::U32)), "body[0].value.value.lhs"),
        (let_u32("x", Expr::u32(1) << Expr::i32(1)), "body[0].value.rhs"),
        (let_u32("x", Expr::unary(UnaryOp::Neg, Expr::u32(1))), "body[0].value.operand"),
        (let_u32("x", Expr::bool(true).bitcast(ScalarType::U32)), "body[0].value.value"),
        (let_u32("x", Expr::select(Expr::bool(true), Expr::u32(1), Expr::i32(1))), "body[0].value.if_false"),
        (let_u32("x", Expr::select(Expr::u32(1), Expr::u32(1), Expr::u32(1))), "body[0].value.cond"),
        (persistent_loop(Expr::bool(true), Expr::bool(true), vec![], vec![]), "body[0].fuel"),
        (for_("i", Expr::u32(0), Expr::f32(2.0), vec![]), "body[0].to"),
        (atomic_add("data", Expr::u32(0), Expr::i32(1)), "body[0].args[0]"),
    ];
    for (s, path) in cases {
        let p = program(vec![s]);
        let e = first_error(&p);
        assert!(matches!(e.kind, ErrorKind::TypeMismatch { .. }), "{e}");
        assert_eq!(e.path, path, "{e}");
        assert!(e.to_string().contains("expected"), "{e}");
    }
}

#[test]
fn immutable_names_cannot_be_assigned() {
    let p = program(vec![
        compare_exchange("old", "data", Expr::u32(0), Expr::u32(0), Expr::u32(1)),
        assign("old", Expr::u32(3)),
        for_("i", Expr::u32(0), Expr::u32(2), vec![assign("i", Expr::u32(9))]),
        assign("ghost", Expr::u32(1)),
    ]);
    assert_eq!(
        kinds(&p),
        [
            ErrorKind::NotAssignable { name: "old".into() },
            ErrorKind::NotAssignable { name: "i".into() },
            ErrorKind::UnknownVariable { name: "ghost".into() },
        ]
    );
}

#[test]
fn read_only_buffers_reject_writes() {
    let mut p = program(vec![store("data", Expr::u32(0), Expr::u32(1)), atomic_load("w", "data", Expr::u32(0))]);
    p.buffers[0].access = Access::Read;
    assert_eq!(
        kinds(&p),
        [ErrorKind::ReadOnlyBuffer { name: "data".into() }, ErrorKind::ReadOnlyBuffer { name: "data".into() }]
    );
    p.body = vec![let_u32("ok", Expr::load("data", Expr::u32(0)))];
    validate(&p).expect("loads from read-only buffers are fine");
}

#[test]
fn atomic_arity_and_results_are_checked() {
    let p = program(vec![
        atomic(AtomicOp::CompareExchange, "data", Expr::u32(0), vec![Expr::u32(0)], Some("a")),
        atomic(AtomicOp::Store, "data", Expr::u32(0), vec![Expr::u32(1)], Some("b")),
        atomic(AtomicOp::Load, "data", Expr::u32(0), vec![Expr::u32(1)], None),
    ]);
    assert_eq!(
        kinds(&p),
        [
            ErrorKind::WrongArity { op: "atomic_compare_exchange", expected: 2, found: 1 },
            ErrorKind::UnexpectedResult { op: "atomic_store" },
            ErrorKind::WrongArity { op: "atomic_load", expected: 0, found: 1 },
        ]
    );
}

#[test]
fn control_flow_rules() {
    let p = program(vec![
        Stmt::Break,
        if_(Expr::bool(true), vec![Stmt::Barrier]),
        persistent_loop(Expr::u32(4), Expr::bool(false), vec![], vec![Stmt::Break]),
    ]);
    let errs = validate(&p).unwrap_err().0;
    let got: Vec<_> = errs.iter().map(|e| (e.path.as_str(), e.kind.clone())).collect();
    assert_eq!(
        got,
        [
            ("body[0]", ErrorKind::BreakOutsideLoop),
            ("body[1].then[0]", ErrorKind::BarrierNotTopLevel),
            ("body[2].on_exhausted[0]", ErrorKind::BreakOutsideLoop),
        ]
    );
}

#[test]
fn header_errors() {
    let mut p = program(vec![]);
    p.workgroup_size = 0;
    p.buffers = vec![
        buffer("data", 0, 16),
        buffer("data", 0, 0),
        buffer("9bad", 9, 4),
        BufferDecl { readback: Some(WordRange { start: 2, end: 5 }), ..buffer("small", 3, 4) },
        buffer("huge", 4, validate::MAX_BUFFER_WORDS + 1),
        BufferDecl { device_only_from: Some(2), ..buffer("landing", 5, 8) },
        BufferDecl { device_only_from: Some(9), readback: None, ..buffer("past", 6, 8) },
    ];
    assert_eq!(
        kinds(&p),
        [
            ErrorKind::InvalidWorkgroupSize { size: 0 },
            ErrorKind::DuplicateBuffer { name: "data".into() },
            ErrorKind::DuplicateBinding { binding: 0, first: "data".into(), second: "data".into() },
            ErrorKind::InvalidBufferSize { words: 0 },
            ErrorKind::InvalidIdentifier { name: "9bad".into() },
            ErrorKind::BindingTooHigh { binding: 9 },
            ErrorKind::ReadbackOutOfRange { start: 2, end: 5, words: 4 },
            ErrorKind::InvalidBufferSize { words: validate::MAX_BUFFER_WORDS + 1 },
            // Device-only words overlap the readback range, or start past the buffer.
            ErrorKind::DeviceOnlyOutOfRange { from: 2, read_back: 8, words: 8 },
            ErrorKind::DeviceOnlyOutOfRange { from: 9, read_back: 0, words: 8 },
        ]
    );
    p.workgroup_size = 257;
    assert_eq!(kinds(&p)[0], ErrorKind::InvalidWorkgroupSize { size: 257 });
}

#[test]
fn bad_identifiers_are_rejected() {
    for bad in ["", "1x", "a-b", "ä", &"x".repeat(65)] {
        let p = program(vec![let_u32(bad, Expr::u32(0))]);
        assert_eq!(kinds(&p), [ErrorKind::InvalidIdentifier { name: bad.to_string() }]);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut e = Expr::u32(0);
    for _ in 0..10_000 {
        e = e + Expr::u32(1);
    }
    let p = program(vec![let_u32("x", e)]);
    assert_eq!(kinds(&p), [ErrorKind::TooDeep]);

    let mut block = vec![];
    for _ in 0..10_000 {
        block = vec![if_(Expr::bool(true), block)];
    }
    let p = program(block);
    assert_eq!(kinds(&p), [ErrorKind::TooDeep]);
}

// ---- arbitrary programs ----

const NAMES: [&str; 5] = ["a", "b", "c", "data", "9"];

fn arb_type() -> impl Strategy<Value = ScalarType> {
    prop::sample::select(ScalarType::ALL.to_vec())
}

fn arb_name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(str::to_string)
}

fn arb_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<u32>().prop_map(Literal::U32),
        any::<i32>().prop_map(Literal::I32),
        any::<u32>().prop_map(Literal::F32Bits),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        arb_literal().prop_map(Expr::Literal),
        arb_name().prop_map(Expr::Var),
        arb_name().prop_map(|buffer| Expr::BufferLen { buffer }),
        prop::sample::select(Builtin::ALL.to_vec()).prop_map(Expr::Builtin),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (arb_name(), inner.clone()).prop_map(|(b, i)| Expr::Load { buffer: b, index: Box::new(i) }),
            (prop::sample::select(UnaryOp::ALL.to_vec()), inner.clone()).prop_map(|(op, e)| Expr::unary(op, e)),
            (prop::sample::select(BinaryOp::ALL.to_vec()), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| Expr::binary(op, a, b)),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| Expr::select(c, a, b)),
            (arb_type(), inner.clone()).prop_map(|(t, e)| e.cast(t)),
            (arb_type(), inner).prop_map(|(t, e)| e.bitcast(t)),
        ]
    })
}

fn arb_stmt() -> impl Strategy<Value = Stmt> {
    let leaf = prop_oneof![
        (arb_name(), arb_type(), arb_expr()).prop_map(|(n, t, v)| Stmt::Let { name: n, ty: t, value: v }),
        (arb_name(), arb_expr()).prop_map(|(n, v)| Stmt::Assign { name: n, value: v }),
        (arb_name(), arb_expr(), arb_expr()).prop_map(|(b, i, v)| Stmt::Store { buffer: b, index: i, value: v }),
        (
            prop::sample::select(AtomicOp::ALL.to_vec()),
            arb_name(),
            arb_expr(),
            prop::collection::vec(arb_expr(), 0..3),
            prop::option::of(arb_name())
        )
            .prop_map(|(op, b, i, args, r)| Stmt::Atomic { op, buffer: b, index: i, args, result: r }),
        (arb_name(), arb_name(), arb_expr(), arb_expr()).prop_map(|(v, b, w, n)| Stmt::Crc32 {
            var: v,
            buffer: b,
            word: w,
            bytes: n
        }),
        Just(Stmt::Break),
        Just(Stmt::Return),
        Just(Stmt::Barrier),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        let block = prop::collection::vec(inner, 0..4);
        prop_oneof![
            (arb_expr(), block.clone(), block.clone()).prop_map(|(c, t, o)| if_else(c, t, o)),
            (arb_name(), arb_expr(), arb_expr(), block.clone())
                .prop_map(|(v, f, t, b)| { Stmt::For { var: v, from: f, to: t, body: b } }),
            (arb_expr(), arb_expr(), block.clone(), block).prop_map(|(f, x, b, o)| persistent_loop(f, x, b, o)),
        ]
    })
}

fn arb_program() -> impl Strategy<Value = Program> {
    let buffers = prop::collection::vec(
        (
            arb_name(),
            0u32..10,
            prop::sample::select(vec![Access::Read, Access::ReadWrite]),
            0u32..64,
            prop::option::of((0u32..70, 0u32..70)),
            prop::option::of(0u32..70),
        )
            .prop_map(|(name, binding, access, words, rb, device_only_from)| BufferDecl {
                name,
                binding,
                access,
                words,
                readback: rb.map(|(start, end)| WordRange { start, end }),
                device_only_from,
            }),
        0..4,
    );
    (0u32..300, buffers, prop::collection::vec(arb_stmt(), 0..6)).prop_map(|(workgroup_size, buffers, body)| Program {
        name: "arb".into(),
        workgroup_size,
        buffers,
        body,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validator_never_panics_and_names_valid_paths(p in arb_program()) {
        match validate(&p) {
            Ok(v) => prop_assert_eq!(v.program(), &p),
            Err(errs) => {
                prop_assert!(!errs.0.is_empty());
                for e in &errs.0 {
                    prop_assert!(
                        e.path.starts_with("body") || e.path.starts_with("buffers") || e.path == "workgroup_size",
                        "bad path {}", e.path
                    );
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn serde_round_trip_is_exact(p in arb_program()) {
        let json = serde_json::to_string(&p).unwrap();
        let back: Program = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &p);
        // f32 literals keep their exact bits (NaN payloads included).
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn printer_never_panics(p in arb_program()) {
        let text = print::program(&p);
        prop_assert!(text.starts_with("program "));
    }
}

#[test]
fn nan_literal_survives_json() {
    let p = program(vec![let_("f", ScalarType::F32, Expr::Literal(Literal::F32Bits(0x7fc0_1234)))]);
    let back: Program = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    for text in ["", "{", r#"{"name":"x"}"#, r#"{"name":"x","workgroup_size":-1,"buffers":[],"body":[]}"#] {
        assert!(serde_json::from_str::<Program>(text).is_err(), "{text}");
    }
}

// ---- printer snapshots ----

fn claim_program() -> Program {
    program(vec![
        let_u32("slot", gid()),
        if_(Expr::var("slot").ge(Expr::buffer_len("data")), vec![Stmt::Return]),
        compare_exchange("old", "data", Expr::var("slot"), Expr::u32(1), Expr::u32(2)),
        if_else(
            Expr::var("old").eq(Expr::u32(1)),
            vec![atomic_store("data", Expr::var("slot"), Expr::u32(3)), atomic_add("data", Expr::u32(0), Expr::u32(1))],
            vec![],
        ),
    ])
}

#[test]
fn snapshot_claim_program() {
    insta::assert_snapshot!(print::program(&claim_program()));
}

#[test]
fn snapshot_loops_and_casts() {
    let p = program(vec![
        let_("acc", ScalarType::I32, Expr::i32(-3)),
        for_(
            "k",
            Expr::u32(0),
            Expr::u32(8),
            vec![assign("acc", (Expr::var("acc") * Expr::var("k").cast(ScalarType::I32)) >> Expr::u32(33))],
        ),
        let_("f", ScalarType::F32, Expr::var("acc").cast(ScalarType::F32).min(Expr::f32(2.5))),
        store("data", Expr::u32(1), Expr::var("f").bitcast(ScalarType::U32)),
        persistent_loop(
            Expr::load("data", Expr::u32(2)),
            Expr::load("data", Expr::u32(0)).ne(Expr::u32(0)).or(Expr::bool(false)),
            vec![
                atomic(AtomicOp::Exchange, "data", Expr::u32(3), vec![Expr::u32(7)], Some("prev")),
                if_(Expr::var("prev").eq(Expr::u32(7)), vec![Stmt::Break]),
            ],
            vec![atomic_add("data", Expr::u32(4), Expr::u32(1))],
        ),
        Stmt::Barrier,
        let_("nan", ScalarType::F32, Expr::Literal(Literal::F32Bits(0x7fc0_0000))),
    ]);
    insta::assert_snapshot!(print::program(&p));
}

#[test]
fn snapshot_validation_report() {
    let p = program(vec![let_u32("x", Expr::var("y")), if_(Expr::u32(1), vec![Stmt::Barrier]), Stmt::Break]);
    insta::assert_snapshot!(validate(&p).unwrap_err().to_string());
}

/// The deepest programs the validator accepts (expressions and blocks nested
/// MAX_NESTING deep) survive a JSON round trip: serde_json's recursion limit must not
/// refuse what the validator allows (found by the `validate` fuzz target).
#[test]
fn deepest_valid_programs_round_trip_through_json() {
    use crate::ir::build::stmt::{if_, let_u32};
    use crate::ir::validate::MAX_NESTING;
    let mut e = Expr::u32(1);
    for _ in 0..MAX_NESTING - 2 {
        e = Expr::unary(crate::ir::UnaryOp::BitNot, e);
    }
    let mut body = vec![let_u32("x", e)];
    for _ in 0..MAX_NESTING - 2 {
        body = vec![if_(Expr::bool(true), body)];
    }
    let p = Program { name: "deep".into(), workgroup_size: 1, buffers: vec![], body };
    let deepest_ok = validate(&p).is_ok();
    let json = serde_json::to_string(&p).unwrap();
    let back: Result<Program, _> = crate::json::from_str(&json);
    assert!(deepest_ok, "{:?}", validate(&p).err());
    assert_eq!(back.expect("a valid program's JSON parses"), p);
}

/// The validator's side table types every expression node of the program and binds every
/// variable use, assignment and declaration; clones share it; nodes of other programs
/// are not in it.
#[test]
fn program_info_covers_every_node_of_a_megakernel() {
    use crate::builder::{build, BuildOptions, Mode};
    use crate::ir::walk::{expr_children, stmt_exprs, visit_stmts};
    for mode in Mode::ALL {
        let program = build(&BuildOptions::new(mode, 64)).unwrap();
        let info = program.clone().info().expressions();
        let (mut nodes, mut declarations) = (0, 0);
        let program_ref = &program;
        visit_stmts(&program_ref.body, &mut |s| {
            let mut stack = stmt_exprs(s);
            while let Some(e) = stack.pop() {
                nodes += 1;
                assert!(program_ref.info().type_of(e).is_some(), "{mode:?}: untyped {e:?}");
                if matches!(e, Expr::Var(_)) {
                    assert!(program_ref.info().variable_of(e).is_some(), "{mode:?}: unbound {e:?}");
                }
                stack.extend(expr_children(e));
            }
            match s {
                Stmt::Let { .. } | Stmt::For { .. } | Stmt::Atomic { result: Some(_), .. } => {
                    declarations += 1;
                    assert!(program_ref.info().declared_by(s).is_some(), "{mode:?}: undeclared {s:?}");
                }
                Stmt::Assign { .. } => assert!(program_ref.info().variable_of(s).is_some(), "{mode:?}: {s:?}"),
                _ => {}
            }
        });
        assert_eq!(nodes, info, "{mode:?}: every node typed once");
        assert_eq!(declarations, program.info().variables(), "{mode:?}");
        // A node of another program, even an equal one, is not in the table.
        let copy = program.program().clone();
        let first = copy.body.iter().flat_map(stmt_exprs).next().expect("an expression");
        assert_eq!(program.info().type_of(first), None);
    }
}

#[test]
fn crc32_needs_an_assignable_u32_variable_a_known_buffer_and_u32_operands() {
    let crc = |var: &str, buffer: &str, word: Expr| crc32(var, buffer, word, Expr::u32(8));
    let ok = program(vec![let_u32("c", Expr::u32(0)), crc("c", "data", Expr::u32(1))]);
    assert!(validate(&ok).is_ok());
    let p = program(vec![
        let_("f", ScalarType::F32, Expr::f32(1.0)),
        crc("nope", "data", Expr::u32(0)),
        crc("f", "data", Expr::u32(0)),
        crc("f", "missing", Expr::bool(true)),
    ]);
    assert_eq!(
        kinds(&p),
        [
            ErrorKind::UnknownVariable { name: "nope".into() },
            ErrorKind::TypeMismatch { what: "crc32 variable".into(), expected: "u32".into(), found: ScalarType::F32 },
            ErrorKind::TypeMismatch { what: "crc32 variable".into(), expected: "u32".into(), found: ScalarType::F32 },
            ErrorKind::UnknownBuffer { name: "missing".into() },
            ErrorKind::TypeMismatch {
                what: "crc32 first word".into(),
                expected: "u32".into(),
                found: ScalarType::Bool
            },
        ]
    );
    // A loop counter cannot be overwritten by it.
    let counter = program(vec![for_("i", Expr::u32(0), Expr::u32(1), vec![crc("i", "data", Expr::u32(0))])]);
    assert_eq!(kinds(&counter), [ErrorKind::NotAssignable { name: "i".into() }]);
    assert!(print::program(&ok).contains("c = crc32(c, &data[1u..], 8u bytes);"));
}
