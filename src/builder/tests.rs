//! Builder tests: every variant validates over a range of geometries; user handler rules.

use super::*;
use crate::ir::build::stmt::*;
use crate::ir::{Expr, Stmt};

fn variants() -> Vec<BuildOptions> {
    let mut v = Vec::new();
    for mode in Mode::ALL {
        for readback in [Readback::Full, Readback::ControlOnly] {
            let mut o = BuildOptions::new(mode, 64);
            o.readback = readback;
            v.push(o);
        }
    }
    let mut fused = BuildOptions::new(Mode::Jit, 64);
    fused.jit_builtins = vec![BuiltinOp::Nop];
    v.push(fused);
    v
}

#[test]
fn every_variant_validates_over_geometries() {
    for base in variants() {
        for slots in [1, 2, 3, 63, 64, 65, 1000, 4096] {
            for wg in [1, 2, 7, 32, 64, 255, 256] {
                let mut o = base.clone();
                o.slots = slots;
                o.workgroup_size = wg;
                let p = build(&o).unwrap_or_else(|e| panic!("{:?} slots={slots} wg={wg}: {e}", o.mode));
                assert_eq!(p.workgroup_size, wg);
                assert_eq!(p.buffer("ring").map(|b| b.words), Some(slots * SLOT_WORDS));
                assert_eq!(p.buffer("control").map(|b| b.words), Some(CTRL_OBSERVABLES + DEFAULT_OBSERVABLES));
                let ring_read_back = p.buffer("ring").and_then(|b| b.readback).is_some();
                assert_eq!(ring_read_back, o.readback == Readback::Full);
            }
        }
    }
}

#[test]
fn buffers_follow_the_wire_layout() {
    let p = build(&BuildOptions::new(Mode::Once, 8)).unwrap();
    let bindings: Vec<(&str, u32, u32)> = p.buffers.iter().map(|b| (b.name.as_str(), b.binding, b.words)).collect();
    assert_eq!(
        bindings,
        [("control", 0, 256), ("ring", 1, 128), ("debug_log", 2, 257), ("io_queue", 3, 512), ("heap", 4, 4096)]
    );
}

#[test]
fn bad_sizes_are_errors() {
    let mut o = BuildOptions::new(Mode::Once, 0);
    assert!(matches!(build(&o), Err(BuildError::Geometry(_))));
    o.slots = MAX_SLOTS + 1;
    assert!(matches!(build(&o), Err(BuildError::TooManySlots { .. })));
    o.slots = 4;
    o.workgroup_size = 300;
    assert!(matches!(build(&o), Err(BuildError::Geometry(_))));
    o.workgroup_size = 64;
    o.heap_words = 0;
    assert!(matches!(build(&o), Err(BuildError::BadSize { what: "heap", .. })));
}

fn handler(opcode: u32, body: Vec<Stmt>) -> UserHandler {
    UserHandler { name: format!("h{opcode:x}"), opcode, body, io: None }
}

fn with_handlers(handlers: Vec<UserHandler>) -> Result<crate::ir::ValidProgram, BuildError> {
    let mut o = BuildOptions::new(Mode::Persistent, 16);
    o.user_handlers = handlers;
    build(&o)
}

#[test]
fn user_handlers_build_in_every_mode() {
    let body = vec![
        let_u32("sum", Expr::var("arg0") + Expr::var("arg1")),
        store("heap", Expr::var("arg2") % Expr::u32(DEFAULT_HEAP_WORDS), Expr::var("sum")),
        if_(Expr::var("sum").eq(Expr::u32(0)), vec![assign("next_status", Expr::u32(7))]),
    ];
    for mode in Mode::ALL {
        let mut o = BuildOptions::new(mode, 16);
        o.user_handlers = vec![handler(0x100, body.clone())];
        build(&o).unwrap();
    }
}

#[test]
fn reserved_opcodes_are_rejected() {
    for op in [0, 5, 7, 0xFFF0, 0xFFFD, 0xFFFF, 0x8000_0000, 0xFFFF_FFFF] {
        let e = with_handlers(vec![handler(op, vec![])]).unwrap_err();
        assert!(matches!(e, BuildError::ReservedOpcode { opcode, .. } if opcode == op), "{e}");
    }
    for op in [8, 0x100, 0xFFEF, 0x1_0000, 0x7FFF_FFFF] {
        with_handlers(vec![handler(op, vec![])]).unwrap();
    }
}

#[test]
fn handler_rule_violations_are_named() {
    let cases: Vec<(Vec<Stmt>, &str)> = vec![
        (vec![Stmt::Return], "return"),
        (vec![Stmt::Barrier], "barrier"),
        (vec![Stmt::Break], "outside a loop"),
        (vec![persistent_loop(Expr::u32(1), Expr::bool(true), vec![], vec![])], "persistent_loop"),
        (vec![let_u32("ml_x", Expr::u32(0))], "reserved for the builder"),
        (vec![let_u32("slot", Expr::u32(0))], "already declared"),
        (vec![assign("arg0", Expr::u32(0))], "cannot be assigned"),
        (vec![let_u32("x", Expr::var("nope"))], "body[0].value: unknown variable `nope`"),
    ];
    for (body, needle) in cases {
        let e = with_handlers(vec![handler(0x100, body)]).unwrap_err();
        assert!(matches!(e, BuildError::Handler { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{e} should mention {needle}");
    }
    let two = with_handlers(vec![handler(0x100, vec![]), handler(0x100, vec![])]).unwrap_err();
    assert!(matches!(two, BuildError::DuplicateOpcode { opcode: 0x100, .. }));
    let many = with_handlers((0..=MAX_USER_HANDLERS as u32).map(|k| handler(0x100 + k, vec![])).collect());
    assert!(matches!(many.unwrap_err(), BuildError::TooManyHandlers { .. }));
}

#[test]
fn handler_loops_may_break() {
    let body = vec![for_("k", Expr::u32(0), Expr::var("arg0"), vec![Stmt::Break])];
    with_handlers(vec![handler(0x100, body)]).unwrap();
}

#[test]
fn snapshot_fused_jit_nop_program() {
    let mut o = BuildOptions::new(Mode::Jit, 128);
    o.jit_builtins = vec![BuiltinOp::Nop];
    insta::assert_snapshot!(crate::ir::print::program(&build(&o).unwrap()));
}
