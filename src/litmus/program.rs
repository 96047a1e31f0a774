//! A litmus test as an IR program: every testing lane plays each role of the test once,
//! for a different instance, while spare workgroups hammer scratch memory.
//!
//! The program is fixed by the test and the [`Shape`] (lanes, workgroups, sizes); what
//! changes every iteration (which workgroups test, how lanes pair up, how locations are
//! spread, how hard the stress is) arrives in the `params` and `shuffle` buffers, so one
//! compiled program serves every iteration. The instance a lane plays role `j` of, and the
//! word an instance's location lives in, are defined once here ([`Params::instance`],
//! [`Params::address`]) and written into the IR by the same formulas.

use crate::ir::build::stmt;
use crate::ir::{Access as BufferAccess, Block, BufferDecl, Builtin, Expr, Program, Stmt, WordRange};
use crate::litmus::catalogue::{Access, LitmusTest, Loc, Step};

/// Roles, registers and locations a test may have.
pub const MAX_ROLES: usize = 4;
/// Registers per instance in the results buffer.
pub const REGISTERS: u32 = 4;
/// Locations per instance.
pub const LOCATIONS: u32 = 2;
/// The widest padding between instances' locations, in words.
pub const MAX_STRIDE: u32 = 64;
/// Words in one line of scratch memory the stress hammers.
pub const LINE_WORDS: u32 = 32;
/// Scratch lines.
pub const SCRATCH_LINES: u32 = 16;
/// The most instances one dispatch runs (keeps every address product inside u32).
pub const MAX_INSTANCES: u32 = 1 << 16;

/// Words of the `params` buffer, one constant each.
pub mod param {
    /// Testing workgroups.
    pub const TESTING: u32 = 0;
    /// Testing lanes (what the spin waits for).
    pub const LANES: u32 = 1;
    /// Words between consecutive instances' copies of a location.
    pub const STRIDE: u32 = 2;
    /// Iterations of memory stress by each spare lane.
    pub const STRESS_ITERATIONS: u32 = 3;
    /// Its access pattern (0 store-store, 1 store-load, 2 load-store, 3 load-load).
    pub const STRESS_PATTERN: u32 = 4;
    /// Iterations of stress each testing lane runs before the test.
    pub const PRE_STRESS_ITERATIONS: u32 = 5;
    /// Its pattern.
    pub const PRE_STRESS_PATTERN: u32 = 6;
    /// Scratch lines the stress spreads over.
    pub const LINES: u32 = 7;
    /// Spin rounds before the test (0: no spin).
    pub const SPIN: u32 = 8;
    /// Workgroup shift of role `j` (`SHIFT + j`).
    pub const SHIFT: u32 = 9;
    /// Lane multiplier of role `j`.
    pub const MUL: u32 = 13;
    /// Lane offset of role `j`.
    pub const ADD: u32 = 17;
    /// Instance multiplier of location `a` (the spread).
    pub const LOCATION_MUL: u32 = 21;
    /// Words of the buffer.
    pub const WORDS: u32 = 23;
}

/// The fixed size of a litmus program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Lanes per workgroup (a power of two).
    pub workgroup_size: u32,
    /// Workgroups that run the test.
    pub testing_workgroups: u32,
    /// Workgroups that only stress memory.
    pub stress_workgroups: u32,
}

impl Shape {
    /// Test instances per dispatch.
    pub fn instances(&self) -> u32 {
        self.workgroup_size * self.testing_workgroups
    }

    /// Workgroups per dispatch (saturating, so an absurd count is refused, not wrapped).
    pub fn workgroups(&self) -> u32 {
        self.testing_workgroups.saturating_add(self.stress_workgroups)
    }

    /// Words of the test locations.
    pub fn location_words(&self) -> u32 {
        LOCATIONS * self.instances() * MAX_STRIDE
    }

    /// Words of `mem`: the locations, then the scratch lines.
    pub fn memory_words(&self) -> u32 {
        self.location_words() + SCRATCH_LINES * LINE_WORDS
    }
}

/// One iteration's parameters (what `params` holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// The words, indexed by [`param`].
    pub words: Vec<u32>,
}

impl Params {
    /// Word `i`.
    fn get(&self, i: u32) -> u32 {
        self.words[i as usize]
    }

    /// The instance whose role `role` the lane at logical workgroup `group`, lane `lane`
    /// plays: `((group + SHIFT[role]) % testing) * size + (lane * MUL[role] + ADD[role]) % size`.
    pub fn instance(&self, shape: &Shape, role: usize, group: u32, lane: u32) -> u32 {
        let testing = self.get(param::TESTING);
        let size = shape.workgroup_size;
        let r = role as u32;
        ((group + self.get(param::SHIFT + r)) % testing) * size
            + (lane.wrapping_mul(self.get(param::MUL + r)).wrapping_add(self.get(param::ADD + r))) % size
    }

    /// The word of `mem` that holds location `loc` of instance `instance`:
    /// `(loc * instances + (instance * LOCATION_MUL[loc]) % instances) * stride`.
    pub fn address(&self, shape: &Shape, loc: Loc, instance: u32) -> u32 {
        let n = shape.instances();
        let a = loc.index() as u32;
        (a * n + instance.wrapping_mul(self.get(param::LOCATION_MUL + a)) % n) * self.get(param::STRIDE)
    }
}

fn p(word: u32) -> Expr {
    Expr::load("params", Expr::u32(word))
}

fn v(name: &str) -> Expr {
    Expr::var(name)
}

/// [`Params::instance`] in IR.
fn instance_expr(shape: &Shape, role: usize) -> Expr {
    let size = Expr::u32(shape.workgroup_size);
    let r = role as u32;
    ((v("group") + p(param::SHIFT + r)) % p(param::TESTING)) * size.clone()
        + (v("lane") * p(param::MUL + r) + p(param::ADD + r)) % size
}

/// [`Params::address`] in IR.
fn address_expr(shape: &Shape, loc: Loc, instance: Expr) -> Expr {
    let n = Expr::u32(shape.instances());
    let a = loc.index() as u32;
    (Expr::u32(a) * n.clone() + (instance * p(param::LOCATION_MUL + a)) % n) * p(param::STRIDE)
}

/// A loop of `iterations` accesses by `pattern` to this lane's scratch word; what it loads
/// is folded and stored at the end, so no load is dead.
fn stress(tag: &str, iterations: Expr, pattern: Expr, shape: &Shape) -> Block {
    let name = |what: &str| format!("{tag}_{what}");
    let (word, acc, i, pat) = (name("word"), name("acc"), name("i"), name("pattern"));
    let (t1, t2, t3) = (name("a"), name("b"), name("c"));
    let base = Expr::u32(shape.location_words())
        + (v("group") % p(param::LINES)) * Expr::u32(LINE_WORDS)
        + v("lane") % Expr::u32(LINE_WORDS);
    let at = || v(&word);
    let body = vec![stmt::if_else(
        v(&pat).lt(Expr::u32(2)),
        vec![
            stmt::atomic_store("mem", at(), v(&i)),
            stmt::if_else(
                v(&pat).eq(Expr::u32(0)),
                vec![stmt::atomic_store("mem", at(), v(&i) + Expr::u32(1))],
                vec![stmt::atomic_load(&t1, "mem", at()), stmt::assign(&acc, v(&acc) ^ v(&t1))],
            ),
        ],
        vec![
            stmt::atomic_load(&t2, "mem", at()),
            stmt::assign(&acc, v(&acc) ^ v(&t2)),
            stmt::if_else(
                v(&pat).eq(Expr::u32(2)),
                vec![stmt::atomic_store("mem", at(), v(&i))],
                vec![stmt::atomic_load(&t3, "mem", at()), stmt::assign(&acc, v(&acc) ^ v(&t3))],
            ),
        ],
    )];
    vec![
        stmt::let_u32(&pat, pattern),
        stmt::let_u32(&word, base),
        stmt::let_u32(&acc, Expr::u32(0)),
        stmt::for_(&i, Expr::u32(0), iterations, body),
        stmt::atomic_store("mem", at(), v(&acc)),
    ]
}

/// One access at word `at` of `mem`, its register `r` stored at `result(r)` of `results`;
/// `n` names its variable.
fn access_stmts(access: Access, at: Expr, result: impl Fn(usize) -> Expr, n: usize) -> Block {
    let reg = format!("reg{n}");
    match access {
        Access::Store(_, value) => vec![stmt::atomic_store("mem", at, Expr::u32(value))],
        Access::PlainStore(_, value) => vec![stmt::store("mem", at, Expr::u32(value))],
        Access::Load(_, r) => {
            vec![stmt::atomic_load(&reg, "mem", at), stmt::store("results", result(r), v(&reg))]
        }
        Access::PlainLoad(_, r) => {
            vec![stmt::let_u32(&reg, Expr::load("mem", at)), stmt::store("results", result(r), v(&reg))]
        }
        Access::CompareExchange(_, expected, desired, r) => vec![
            stmt::compare_exchange(&reg, "mem", at, Expr::u32(expected), Expr::u32(desired)),
            stmt::store("results", result(r), v(&reg)),
        ],
    }
}

/// One access of a role in the dispatch program: at the instance's address, its register
/// in the instance's row of `results`.
fn role_access(shape: &Shape, role: usize, access: Access, n: usize) -> Block {
    let inst = || v(&format!("inst{role}"));
    let at = address_expr(shape, access.loc(), inst());
    access_stmts(access, at, |r| inst() * Expr::u32(REGISTERS) + Expr::u32(r as u32), n)
}

/// `test` as the smallest program: one instance, lane `r` (one-lane workgroups) plays role
/// `r`, no stress; `x` and `y` are words 0 and 1 of `mem`, the registers words 0..4 of
/// `results`. For exhaustive model checkers (loom), where the dispatch program's pairing
/// and stress would only add states. Tests with barriers are not for it (`None`).
pub fn build_single(test: &LitmusTest) -> Option<Program> {
    if test.steps.contains(&Step::Barrier) {
        return None;
    }
    let lane = Expr::builtin(Builtin::GlobalInvocationId);
    let body = (0..test.roles())
        .map(|role| {
            let steps = test.accesses().enumerate().filter(|(_, (r, _))| *r == role);
            let run: Block = steps
                .flat_map(|(n, (_, a))| access_stmts(a, Expr::u32(a.loc().index() as u32), |r| Expr::u32(r as u32), n))
                .collect();
            stmt::if_(lane.clone().eq(Expr::u32(role as u32)), run)
        })
        .collect();
    let buffer = |name: &str, binding, words| BufferDecl {
        name: name.into(),
        binding,
        access: BufferAccess::ReadWrite,
        words,
        readback: Some(WordRange { start: 0, end: words }),
        device_only_from: None,
    };
    Some(Program {
        name: format!("litmus {} (one instance)", test.name),
        workgroup_size: 1,
        buffers: vec![buffer("mem", 0, LOCATIONS), buffer("results", 1, REGISTERS)],
        body,
    })
}

/// The program for `test` at `shape`. Buffers: `params` and `shuffle` (read), `mem` (the
/// locations, then scratch; read back when the test watches final values), `results`
/// (four registers an instance) and `sync` (the spin's counter).
pub fn build(test: &LitmusTest, shape: &Shape) -> Program {
    let read = |name: &str, binding, words| BufferDecl {
        name: name.into(),
        binding,
        access: BufferAccess::Read,
        words,
        readback: None,
        device_only_from: None,
    };
    let write = |name: &str, binding, words, readback: Option<WordRange>| BufferDecl {
        name: name.into(),
        binding,
        access: BufferAccess::ReadWrite,
        words,
        readback,
        device_only_from: None,
    };
    let results = shape.instances() * REGISTERS;
    let buffers = vec![
        read("params", 0, param::WORDS),
        read("shuffle", 1, shape.workgroups()),
        write(
            "mem",
            2,
            shape.memory_words(),
            test.watches_finals.then_some(WordRange { start: 0, end: shape.location_words() }),
        ),
        write("results", 3, results, Some(WordRange { start: 0, end: results })),
        write("sync", 4, 1, None),
    ];

    let mut body = vec![
        stmt::let_u32("group", Expr::load("shuffle", Expr::builtin(Builtin::WorkgroupId))),
        stmt::let_u32("lane", Expr::builtin(Builtin::LocalInvocationId)),
        stmt::let_("testing", crate::ir::ScalarType::Bool, v("group").lt(p(param::TESTING))),
    ];
    // Spare workgroups stress memory while the testing ones run.
    let spare = stress("stress", p(param::STRESS_ITERATIONS), p(param::STRESS_PATTERN), shape);
    // Testing lanes stress a little, then wait (bounded) until every testing lane is
    // here, so the roles start close together.
    let mut testing = stress("pre", p(param::PRE_STRESS_ITERATIONS), p(param::PRE_STRESS_PATTERN), shape);
    testing.push(stmt::atomic_add("sync", Expr::u32(0), Expr::u32(1)));
    testing.push(stmt::for_(
        "spin",
        Expr::u32(0),
        p(param::SPIN),
        vec![
            stmt::atomic_load("arrived", "sync", Expr::u32(0)),
            stmt::if_(v("arrived").ge(p(param::LANES)), vec![Stmt::Break]),
        ],
    ));
    body.push(stmt::if_else(v("testing"), testing, spare));
    for role in 0..test.roles() {
        body.push(stmt::let_u32(&format!("inst{role}"), instance_expr(shape, role)));
    }
    // The steps: accesses only in testing lanes, barriers at the top level for all.
    let mut run: Block = Vec::new();
    for (n, step) in test.steps.iter().enumerate() {
        match *step {
            Step::Role(role, access) => run.extend(role_access(shape, role, access, n)),
            Step::Barrier => {
                if !run.is_empty() {
                    body.push(stmt::if_(v("testing"), std::mem::take(&mut run)));
                }
                body.push(Stmt::Barrier);
            }
        }
    }
    if !run.is_empty() {
        body.push(stmt::if_(v("testing"), run));
    }
    Program { name: format!("litmus {}", test.name), workgroup_size: shape.workgroup_size, buffers, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::validate;
    use crate::litmus::catalogue::CATALOGUE;

    #[test]
    fn every_test_builds_a_valid_program_both_ways() {
        let shape = Shape { workgroup_size: 8, testing_workgroups: 4, stress_workgroups: 1 };
        for test in CATALOGUE {
            validate(&build(test, &shape)).unwrap_or_else(|e| panic!("{}: {e}", test.name));
            match build_single(test) {
                Some(p) => {
                    validate(&p).unwrap_or_else(|e| panic!("{} (one instance): {e}", test.name));
                }
                None => assert!(test.steps.contains(&Step::Barrier), "{}", test.name),
            }
        }
    }
}
