//! The litmus catalogue: every test `megaloop litmus` runs, declared once as data (its
//! steps, the outcome it watches for and what the spec says about that outcome).
//!
//! A test names up to four roles ("threads"), each a short sequence of accesses to up to
//! two locations (`x`, `y`) of its own instance; the program builder turns a test into IR
//! and the report classifies each instance's registers and final values. Three kinds:
//! - **forbidden**: the watched outcome breaks a rule the protocol relies on (coherence of
//!   one word, the compare-exchange's atomicity, a barrier inside one workgroup); seeing it
//!   once fails the run;
//! - **allowed**: a weak outcome relaxed WGSL atomics permit across workgroups; its rate is
//!   reported with the protocol rule that keeps megaloop from depending on it;
//! - **mutant** (MC Mutants' idea): a test changed so its watched outcome is reachable by an
//!   ordinary interleaving when the roles really overlap in time; a run that never sees it
//!   did not stress enough to trust its silence about the others. Every forbidden and
//!   allowed test has one, and the share of mutants seen is the run's mutation score.

/// A location of a test instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Loc {
    /// The first location (the payload, or the only word).
    X,
    /// The second location (the flag).
    Y,
}

impl Loc {
    /// Both, in order.
    pub const ALL: [Loc; 2] = [Loc::X, Loc::Y];

    /// The location's index among the instance's words.
    pub fn index(self) -> usize {
        match self {
            Loc::X => 0,
            Loc::Y => 1,
        }
    }

    /// The location's name in outcomes.
    pub fn name(self) -> &'static str {
        match self {
            Loc::X => "x",
            Loc::Y => "y",
        }
    }
}

/// One access of a role. Registers are numbered across the whole test (`r0`..`r3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Relaxed atomic store.
    Store(Loc, u32),
    /// Plain (non-atomic) store, as a handler writes a payload word.
    PlainStore(Loc, u32),
    /// Relaxed atomic load into a register.
    Load(Loc, usize),
    /// Plain load into a register, as a handler reads a payload word.
    PlainLoad(Loc, usize),
    /// Strong compare-exchange `(expected, desired)`; the register gets the old value.
    CompareExchange(Loc, u32, u32, usize),
}

impl Access {
    /// The location the access touches.
    pub fn loc(self) -> Loc {
        match self {
            Access::Store(l, _)
            | Access::PlainStore(l, _)
            | Access::Load(l, _)
            | Access::PlainLoad(l, _)
            | Access::CompareExchange(l, ..) => l,
        }
    }

    /// The register the access writes, if any.
    pub fn register(self) -> Option<usize> {
        match self {
            Access::Load(_, r) | Access::PlainLoad(_, r) | Access::CompareExchange(.., r) => Some(r),
            Access::Store(..) | Access::PlainStore(..) => None,
        }
    }

    /// The value the access may write to its location, if any.
    pub fn written(self) -> Option<u32> {
        match self {
            Access::Store(_, v) | Access::PlainStore(_, v) | Access::CompareExchange(_, _, v, _) => Some(v),
            Access::Load(..) | Access::PlainLoad(..) => None,
        }
    }
}

/// One step every testing lane runs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The lane plays role `.0` of some instance and makes this access.
    Role(usize, Access),
    /// `barrier` (storageBarrier and workgroupBarrier): orders the storage accesses of
    /// one workgroup's lanes (spec 1.7), nothing across workgroups.
    Barrier,
}

/// Where a test's roles run relative to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Every role of an instance in a different workgroup (what the protocol faces).
    AcrossWorkgroups,
    /// Every role of an instance in one workgroup, on different lanes (where a barrier
    /// orders storage accesses).
    OneWorkgroup,
}

/// What an instance saw: its registers and, for tests that watch them, the final values
/// of its locations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Observation {
    /// Registers `r0..r3` (unused ones 0).
    pub registers: [u32; 4],
    /// Final `x`, `y` (0 unless the test watches final values).
    pub finals: [u32; 2],
}

/// What the spec says about a test's watched outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Forbidden: seeing it is a failure. `rule` is the rule it would break.
    Forbidden {
        /// The spec rule.
        rule: &'static str,
    },
    /// Allowed and weak: its rate is reported; `guarded_by` is the protocol rule that
    /// keeps megaloop from relying on it not happening.
    Allowed {
        /// The spec rule.
        guarded_by: &'static str,
    },
    /// A mutant of test `of`: its watched outcome is an interleaving that only overlapping
    /// roles reach; seeing it kills the mutant.
    Mutant {
        /// The test it was made from.
        of: &'static str,
        /// How it was changed.
        mutator: Mutator,
    },
}

/// MC Mutants' mutation operators, as used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutator {
    /// Two accesses of one role swapped, so the weak outcome becomes an interleaving.
    ReversePo,
    /// An access moved to the other location, so coherence no longer forbids it.
    SplitLocation,
    /// The ordering (a barrier, an atomic read-modify-write) taken out.
    DropOrdering,
    /// A role that reads what only a write in the middle of another role leaves.
    Observe,
}

impl Mutator {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mutator::ReversePo => "reverse-po",
            Mutator::SplitLocation => "split-location",
            Mutator::DropOrdering => "drop-ordering",
            Mutator::Observe => "observe",
        }
    }
}

/// One litmus test.
#[derive(Clone, Copy, Debug)]
pub struct LitmusTest {
    /// Its name (`--test`).
    pub name: &'static str,
    /// What it does, in the usual litmus notation.
    pub about: &'static str,
    /// The steps each testing lane runs.
    pub steps: &'static [Step],
    /// Initial `x`, `y`.
    pub initial: [u32; 2],
    /// Whether final values are read back and are part of the outcome.
    pub watches_finals: bool,
    /// Where the roles run.
    pub placement: Placement,
    /// The watched outcome.
    pub watched: fn(&Observation) -> bool,
    /// The watched outcome in words (`r0=1 r1=0`).
    pub watched_text: &'static str,
    /// What the spec says about it.
    pub kind: Kind,
}

impl LitmusTest {
    /// Roles in the test.
    pub fn roles(&self) -> usize {
        self.accesses().map(|(role, _)| role + 1).max().unwrap_or(0)
    }

    /// Registers the test writes.
    pub fn registers(&self) -> usize {
        self.accesses().filter_map(|(_, a)| a.register()).map(|r| r + 1).max().unwrap_or(0)
    }

    /// Locations the test touches.
    pub fn locations(&self) -> usize {
        self.accesses().map(|(_, a)| a.loc().index() + 1).max().unwrap_or(0)
    }

    /// The locations the test touches, `x` first.
    pub fn locs(&self) -> impl Iterator<Item = Loc> {
        Loc::ALL.into_iter().take(self.locations())
    }

    /// Every access with its role.
    pub fn accesses(&self) -> impl Iterator<Item = (usize, Access)> + '_ {
        self.steps.iter().filter_map(|s| match *s {
            Step::Role(role, access) => Some((role, access)),
            Step::Barrier => None,
        })
    }

    /// Whether `value` could be in `loc` at some point: its initial value or one the test
    /// writes there. Anything else is a corrupt value, a failure in every test.
    pub fn may_hold(&self, loc: Loc, value: u32) -> bool {
        value == self.initial[loc.index()] || self.accesses().any(|(_, a)| a.loc() == loc && a.written() == Some(value))
    }

    /// The values an observation reads that no access could have put there, as
    /// `(what, value)`: a register or a final value.
    pub fn corrupt(&self, seen: &Observation) -> Option<(String, u32)> {
        for (_, access) in self.accesses() {
            if let Some(r) = access.register() {
                if !self.may_hold(access.loc(), seen.registers[r]) {
                    return Some((format!("r{r}"), seen.registers[r]));
                }
            }
        }
        if self.watches_finals {
            for loc in self.locs() {
                if !self.may_hold(loc, seen.finals[loc.index()]) {
                    return Some((loc.name().to_string(), seen.finals[loc.index()]));
                }
            }
        }
        None
    }

    /// An observation in words: `r0=1 r1=0` and, when watched, `x=1 y=2`.
    pub fn describe(&self, seen: &Observation) -> String {
        let mut parts: Vec<String> = (0..self.registers()).map(|r| format!("r{r}={}", seen.registers[r])).collect();
        if self.watches_finals {
            for loc in self.locs() {
                parts.push(format!("{}={}", loc.name(), seen.finals[loc.index()]));
            }
        }
        parts.join(" ")
    }

    /// The kind's name in reports.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Forbidden { .. } => "forbidden",
            Kind::Allowed { .. } => "allowed",
            Kind::Mutant { .. } => "mutant",
        }
    }
}

/// A slot's STATUS while PUBLISHED and after a claim (spec 2.3's values).
const PUBLISHED: u32 = crate::protocol::status::Status::Published as u32;
const CLAIMED: u32 = crate::protocol::status::Status::Claimed as u32;
/// The payload word the publishing lane writes.
const PAYLOAD: u32 = 0x5eed;

use Access::{CompareExchange as Cas, Load, PlainLoad, PlainStore, Store};
use Loc::{X, Y};
use Step::{Barrier, Role};

const COHERENCE: &str = "1.7 and 2.9: every access is atomic per word, so each word has one order of writes that \
                         every lane's reads follow";
const CLAIM: &str = "2.4 step 3: a slot is claimed by one strong compare-exchange, so exactly one lane wins it";
const BARRIER: &str = "1.7: `barrier` orders the storage accesses of one workgroup's lanes";
const NO_MESSAGES: &str = "2.9: no message passing through relaxed stores; the host publishes only between \
                           dispatches and reads handler outputs after them";
const BARRIER_ONE_WORKGROUP: &str = "1.7 and 2.9: `barrier` orders one workgroup's lanes only; no lane waits on \
                                     another workgroup's stores in a dispatch";
const NO_FLAGS: &str = "2.9: claims and exclusion use compare-exchange on one word, never a store followed by a \
                        load of another word";

/// A test with its roles in different workgroups, both locations starting at 0 and only
/// registers watched (the modifiers below change that).
const fn across(
    name: &'static str,
    about: &'static str,
    steps: &'static [Step],
    watched: fn(&Observation) -> bool,
    watched_text: &'static str,
    kind: Kind,
) -> LitmusTest {
    LitmusTest {
        name,
        about,
        steps,
        initial: [0, 0],
        watches_finals: false,
        placement: Placement::AcrossWorkgroups,
        watched,
        watched_text,
        kind,
    }
}

impl LitmusTest {
    /// The final values of the locations are part of the outcome.
    const fn watching_finals(self) -> LitmusTest {
        LitmusTest { watches_finals: true, ..self }
    }

    /// The locations start at `initial`.
    const fn starting_at(self, initial: [u32; 2]) -> LitmusTest {
        LitmusTest { initial, ..self }
    }

    /// Every role of an instance in one workgroup.
    const fn in_one_workgroup(self) -> LitmusTest {
        LitmusTest { placement: Placement::OneWorkgroup, ..self }
    }
}

/// Every test, in report order.
pub const CATALOGUE: &[LitmusTest] = &[
    // Coherence: forbidden.
    across(
        "corr",
        "T0: x=1 | T1: r0=x; r1=x",
        &[Role(0, Store(X, 1)), Role(1, Load(X, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Forbidden { rule: COHERENCE },
    ),
    across(
        "coww",
        "T0: x=1; x=2 | T1: r0=x",
        &[Role(0, Store(X, 1)), Role(0, Store(X, 2)), Role(1, Load(X, 0))],
        |o| o.finals[0] == 1,
        "x=1",
        Kind::Forbidden { rule: COHERENCE },
    )
    .watching_finals(),
    across(
        "corw",
        "T0: r0=x; x=1 | T1: x=2",
        &[Role(0, Load(X, 0)), Role(0, Store(X, 1)), Role(1, Store(X, 2))],
        |o| o.registers[0] == 2 && o.finals[0] == 2,
        "r0=2 x=2",
        Kind::Forbidden { rule: COHERENCE },
    )
    .watching_finals(),
    across(
        "cowr",
        "T0: x=1; r0=x | T1: x=2",
        &[Role(0, Store(X, 1)), Role(0, Load(X, 0)), Role(1, Store(X, 2))],
        |o| o.registers[0] == 2 && o.finals[0] == 1,
        "r0=2 x=1",
        Kind::Forbidden { rule: COHERENCE },
    )
    .watching_finals(),
    across(
        "barrier-mp",
        "one workgroup: T0: x=1; barrier | T1: barrier; r0=x",
        &[Role(0, Store(X, 1)), Barrier, Role(1, Load(X, 0))],
        |o| o.registers[0] == 0,
        "r0=0",
        Kind::Forbidden { rule: BARRIER },
    )
    .in_one_workgroup(),
    across(
        "claim",
        "STATUS=PUBLISHED; T0: r0=cas(STATUS, PUBLISHED, CLAIMED) | T1: r1=cas(STATUS, PUBLISHED, CLAIMED)",
        &[Role(0, Cas(X, PUBLISHED, CLAIMED, 0)), Role(1, Cas(X, PUBLISHED, CLAIMED, 1))],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == PUBLISHED,
        "both lanes won the slot",
        Kind::Forbidden { rule: CLAIM },
    )
    .starting_at([PUBLISHED, 0]),
    // Weak outcomes relaxed atomics allow across workgroups.
    across(
        "mp",
        "T0: x=1; y=1 | T1: r0=y; r1=x",
        &[Role(0, Store(X, 1)), Role(0, Store(Y, 1)), Role(1, Load(Y, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    across(
        "mp-barrier",
        "T0: x=1; barrier; y=1 | T1: r0=y; barrier; r1=x (different workgroups)",
        &[Role(0, Store(X, 1)), Role(1, Load(Y, 0)), Barrier, Role(0, Store(Y, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Allowed { guarded_by: BARRIER_ONE_WORKGROUP },
    ),
    across(
        "sb",
        "T0: x=1; r0=y | T1: y=1; r1=x",
        &[Role(0, Store(X, 1)), Role(0, Load(Y, 0)), Role(1, Store(Y, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 0 && o.registers[1] == 0,
        "r0=0 r1=0",
        Kind::Allowed { guarded_by: NO_FLAGS },
    ),
    across(
        "lb",
        "T0: r0=x; y=1 | T1: r1=y; x=1",
        &[Role(0, Load(X, 0)), Role(0, Store(Y, 1)), Role(1, Load(Y, 1)), Role(1, Store(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 1,
        "r0=1 r1=1",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    across(
        "2+2w",
        "T0: x=1; y=2 | T1: y=1; x=2",
        &[Role(0, Store(X, 1)), Role(0, Store(Y, 2)), Role(1, Store(Y, 1)), Role(1, Store(X, 2))],
        |o| o.finals == [1, 1],
        "x=1 y=1",
        Kind::Allowed { guarded_by: NO_FLAGS },
    )
    .watching_finals(),
    across(
        "iriw",
        "T0: x=1 | T1: y=1 | T2: r0=x; r1=y | T3: r2=y; r3=x",
        &[
            Role(0, Store(X, 1)),
            Role(1, Store(Y, 1)),
            Role(2, Load(X, 0)),
            Role(2, Load(Y, 1)),
            Role(3, Load(Y, 2)),
            Role(3, Load(X, 3)),
        ],
        |o| o.registers == [1, 0, 1, 0],
        "r0=1 r1=0 r2=1 r3=0",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    across(
        "publish",
        "T0: payload=PAYLOAD (plain); STATUS=PUBLISHED | T1: r0=STATUS; r1=payload (plain)",
        &[Role(0, PlainStore(X, PAYLOAD)), Role(0, Store(Y, PUBLISHED)), Role(1, Load(Y, 0)), Role(1, PlainLoad(X, 1))],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == 0,
        "STATUS seen PUBLISHED, payload not yet written",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    across(
        "mp-cas",
        "T0: x=1; y=1 | T1: r0=cas(y, 1, 2); r1=x (the flag taken by compare-exchange, as a claim takes STATUS)",
        &[Role(0, Store(X, 1)), Role(0, Store(Y, 1)), Role(1, Cas(Y, 1, 2, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    across(
        "sb-barrier",
        "T0: x=1; barrier; r0=y | T1: y=1; barrier; r1=x (different workgroups)",
        &[Role(0, Store(X, 1)), Role(1, Store(Y, 1)), Barrier, Role(0, Load(Y, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 0 && o.registers[1] == 0,
        "r0=0 r1=0",
        Kind::Allowed { guarded_by: BARRIER_ONE_WORKGROUP },
    ),
    across(
        "lb-barrier",
        "T0: r0=x; barrier; y=1 | T1: r1=y; barrier; x=1 (different workgroups)",
        &[Role(0, Load(X, 0)), Role(1, Load(Y, 1)), Barrier, Role(0, Store(Y, 1)), Role(1, Store(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 1,
        "r0=1 r1=1",
        Kind::Allowed { guarded_by: BARRIER_ONE_WORKGROUP },
    ),
    across(
        "2+2w-barrier",
        "T0: x=1; barrier; y=2 | T1: y=1; barrier; x=2 (different workgroups)",
        &[Role(0, Store(X, 1)), Role(1, Store(Y, 1)), Barrier, Role(0, Store(Y, 2)), Role(1, Store(X, 2))],
        |o| o.finals == [1, 1],
        "x=1 y=1",
        Kind::Allowed { guarded_by: BARRIER_ONE_WORKGROUP },
    )
    .watching_finals(),
    across(
        "iriw-barrier",
        "T0: x=1 | T1: y=1 | T2: r0=x; barrier; r1=y | T3: r2=y; barrier; r3=x (different workgroups)",
        &[
            Role(0, Store(X, 1)),
            Role(1, Store(Y, 1)),
            Role(2, Load(X, 0)),
            Role(3, Load(Y, 2)),
            Barrier,
            Role(2, Load(Y, 1)),
            Role(3, Load(X, 3)),
        ],
        |o| o.registers == [1, 0, 1, 0],
        "r0=1 r1=0 r2=1 r3=0",
        Kind::Allowed { guarded_by: BARRIER_ONE_WORKGROUP },
    ),
    across(
        "publish-claim",
        "T0: payload=PAYLOAD (plain); STATUS=PUBLISHED | T1: r0=cas(STATUS, PUBLISHED, CLAIMED); r1=payload (plain)",
        &[
            Role(0, PlainStore(X, PAYLOAD)),
            Role(0, Store(Y, PUBLISHED)),
            Role(1, Cas(Y, PUBLISHED, CLAIMED, 0)),
            Role(1, PlainLoad(X, 1)),
        ],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == 0,
        "claimed PUBLISHED, payload not yet written",
        Kind::Allowed { guarded_by: NO_MESSAGES },
    ),
    // Mutants: each watched outcome is an interleaving of overlapping roles.
    across(
        "corr~split",
        "T0: x=1; y=1 | T1: r0=x; r1=y",
        &[Role(0, Store(X, 1)), Role(0, Store(Y, 1)), Role(1, Load(X, 0)), Role(1, Load(Y, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Mutant { of: "corr", mutator: Mutator::SplitLocation },
    ),
    across(
        "coww~observed",
        "T0: x=1; x=2 | T1: r0=x, watching r0=1 (T1 between T0's stores)",
        &[Role(0, Store(X, 1)), Role(0, Store(X, 2)), Role(1, Load(X, 0))],
        |o| o.registers[0] == 1,
        "r0=1",
        Kind::Mutant { of: "coww", mutator: Mutator::Observe },
    )
    .watching_finals(),
    across(
        "corw~observed",
        "T0: r0=x; x=1 | T1: x=2; r1=x",
        &[Role(0, Load(X, 0)), Role(0, Store(X, 1)), Role(1, Store(X, 2)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 2 && o.registers[1] == 1,
        "r0=2 r1=1",
        Kind::Mutant { of: "corw", mutator: Mutator::Observe },
    ),
    across(
        "cowr~split",
        "T0: x=1; r0=y | T1: y=1; r1=x",
        &[Role(0, Store(X, 1)), Role(0, Load(Y, 0)), Role(1, Store(Y, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 1,
        "r0=1 r1=1",
        Kind::Mutant { of: "cowr", mutator: Mutator::SplitLocation },
    ),
    across(
        "barrier-mp~no-barrier",
        "one workgroup: T0: x=1 | T1: r0=x",
        &[Role(0, Store(X, 1)), Role(1, Load(X, 0))],
        |o| o.registers[0] == 0,
        "r0=0",
        Kind::Mutant { of: "barrier-mp", mutator: Mutator::DropOrdering },
    )
    .in_one_workgroup(),
    across(
        "claim~load-store",
        "STATUS=PUBLISHED; T0: r0=STATUS; STATUS=CLAIMED | T1: r1=STATUS; STATUS=CLAIMED",
        &[Role(0, Load(X, 0)), Role(0, Store(X, CLAIMED)), Role(1, Load(X, 1)), Role(1, Store(X, CLAIMED))],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == PUBLISHED,
        "both lanes read PUBLISHED",
        Kind::Mutant { of: "claim", mutator: Mutator::DropOrdering },
    )
    .starting_at([PUBLISHED, 0]),
    across(
        "mp~reversed",
        "T0: y=1; x=1 | T1: r0=y; r1=x",
        &[Role(0, Store(Y, 1)), Role(0, Store(X, 1)), Role(1, Load(Y, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Mutant { of: "mp", mutator: Mutator::ReversePo },
    ),
    across(
        "mp-barrier~reversed",
        "T0: y=1; barrier; x=1 | T1: r0=y; barrier; r1=x (different workgroups)",
        &[Role(0, Store(Y, 1)), Role(1, Load(Y, 0)), Barrier, Role(0, Store(X, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Mutant { of: "mp-barrier", mutator: Mutator::ReversePo },
    ),
    across(
        "sb~reversed",
        "T0: r0=y; x=1 | T1: y=1; r1=x",
        &[Role(0, Load(Y, 0)), Role(0, Store(X, 1)), Role(1, Store(Y, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 0 && o.registers[1] == 0,
        "r0=0 r1=0",
        Kind::Mutant { of: "sb", mutator: Mutator::ReversePo },
    ),
    across(
        "lb~reversed",
        "T0: y=1; r0=x | T1: r1=y; x=1",
        &[Role(0, Store(Y, 1)), Role(0, Load(X, 0)), Role(1, Load(Y, 1)), Role(1, Store(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 1,
        "r0=1 r1=1",
        Kind::Mutant { of: "lb", mutator: Mutator::ReversePo },
    ),
    across(
        "2+2w~reversed",
        "T0: y=2; x=1 | T1: y=1; x=2",
        &[Role(0, Store(Y, 2)), Role(0, Store(X, 1)), Role(1, Store(Y, 1)), Role(1, Store(X, 2))],
        |o| o.finals == [1, 1],
        "x=1 y=1",
        Kind::Mutant { of: "2+2w", mutator: Mutator::ReversePo },
    )
    .watching_finals(),
    across(
        "iriw~reversed",
        "T0: x=1 | T1: y=1 | T2: r0=x; r1=y | T3: r3=x; r2=y",
        &[
            Role(0, Store(X, 1)),
            Role(1, Store(Y, 1)),
            Role(2, Load(X, 0)),
            Role(2, Load(Y, 1)),
            Role(3, Load(X, 3)),
            Role(3, Load(Y, 2)),
        ],
        |o| o.registers == [1, 0, 1, 0],
        "r0=1 r1=0 r2=1 r3=0",
        Kind::Mutant { of: "iriw", mutator: Mutator::ReversePo },
    ),
    across(
        "publish~reversed",
        "T0: STATUS=PUBLISHED; payload=PAYLOAD (plain) | T1: r0=STATUS; r1=payload (plain)",
        &[Role(0, Store(Y, PUBLISHED)), Role(0, PlainStore(X, PAYLOAD)), Role(1, Load(Y, 0)), Role(1, PlainLoad(X, 1))],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == 0,
        "STATUS seen PUBLISHED, payload not yet written",
        Kind::Mutant { of: "publish", mutator: Mutator::ReversePo },
    ),
    across(
        "mp-cas~reversed",
        "T0: y=1; x=1 | T1: r0=cas(y, 1, 2); r1=x",
        &[Role(0, Store(Y, 1)), Role(0, Store(X, 1)), Role(1, Cas(Y, 1, 2, 0)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 0,
        "r0=1 r1=0",
        Kind::Mutant { of: "mp-cas", mutator: Mutator::ReversePo },
    ),
    across(
        "sb-barrier~reversed",
        "T0: r0=y; barrier; x=1 | T1: y=1; barrier; r1=x (different workgroups)",
        &[Role(0, Load(Y, 0)), Role(1, Store(Y, 1)), Barrier, Role(0, Store(X, 1)), Role(1, Load(X, 1))],
        |o| o.registers[0] == 0 && o.registers[1] == 0,
        "r0=0 r1=0",
        Kind::Mutant { of: "sb-barrier", mutator: Mutator::ReversePo },
    ),
    across(
        "lb-barrier~reversed",
        "T0: y=1; barrier; r0=x | T1: r1=y; barrier; x=1 (different workgroups)",
        &[Role(0, Store(Y, 1)), Role(1, Load(Y, 1)), Barrier, Role(0, Load(X, 0)), Role(1, Store(X, 1))],
        |o| o.registers[0] == 1 && o.registers[1] == 1,
        "r0=1 r1=1",
        Kind::Mutant { of: "lb-barrier", mutator: Mutator::ReversePo },
    ),
    across(
        "2+2w-barrier~reversed",
        "T0: y=2; barrier; x=1 | T1: y=1; barrier; x=2 (different workgroups)",
        &[Role(0, Store(Y, 2)), Role(1, Store(Y, 1)), Barrier, Role(0, Store(X, 1)), Role(1, Store(X, 2))],
        |o| o.finals == [1, 1],
        "x=1 y=1",
        Kind::Mutant { of: "2+2w-barrier", mutator: Mutator::ReversePo },
    )
    .watching_finals(),
    across(
        "iriw-barrier~reversed",
        "T0: x=1 | T1: y=1 | T2: r0=x; barrier; r1=y | T3: r3=x; barrier; r2=y (different workgroups)",
        &[
            Role(0, Store(X, 1)),
            Role(1, Store(Y, 1)),
            Role(2, Load(X, 0)),
            Role(3, Load(X, 3)),
            Barrier,
            Role(2, Load(Y, 1)),
            Role(3, Load(Y, 2)),
        ],
        |o| o.registers == [1, 0, 1, 0],
        "r0=1 r1=0 r2=1 r3=0",
        Kind::Mutant { of: "iriw-barrier", mutator: Mutator::ReversePo },
    ),
    across(
        "publish-claim~reversed",
        "T0: STATUS=PUBLISHED; payload=PAYLOAD (plain) | T1: r0=cas(STATUS, PUBLISHED, CLAIMED); r1=payload (plain)",
        &[
            Role(0, Store(Y, PUBLISHED)),
            Role(0, PlainStore(X, PAYLOAD)),
            Role(1, Cas(Y, PUBLISHED, CLAIMED, 0)),
            Role(1, PlainLoad(X, 1)),
        ],
        |o| o.registers[0] == PUBLISHED && o.registers[1] == 0,
        "claimed PUBLISHED, payload not yet written",
        Kind::Mutant { of: "publish-claim", mutator: Mutator::ReversePo },
    ),
];

/// The test named `name`.
pub fn find(name: &str) -> Option<&'static LitmusTest> {
    CATALOGUE.iter().find(|t| t.name == name)
}

/// The tests `names` pick, each with its mutant (a run's mutation score covers what it
/// ran), in catalogue order; every test when `names` is empty. An unknown name is an error
/// that lists the known ones.
pub fn select(names: &[String]) -> Result<Vec<&'static LitmusTest>, String> {
    if let Some(unknown) = names.iter().find(|n| find(n).is_none()) {
        let known: Vec<&str> = CATALOGUE.iter().map(|t| t.name).collect();
        return Err(format!("--test {unknown}: no such litmus test; the tests are {}", known.join(", ")));
    }
    let picked = |t: &LitmusTest| {
        names.is_empty() || names.iter().any(|n| n == t.name || matches!(t.kind, Kind::Mutant { of, .. } if of == n))
    };
    Ok(CATALOGUE.iter().filter(|t| picked(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_test_has_exactly_one_mutant() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len(), "duplicate test names");
        for test in CATALOGUE.iter().filter(|t| !matches!(t.kind, Kind::Mutant { .. })) {
            let mutants: Vec<&str> = CATALOGUE
                .iter()
                .filter(|m| matches!(m.kind, Kind::Mutant { of, .. } if of == test.name))
                .map(|m| m.name)
                .collect();
            assert_eq!(mutants.len(), 1, "{} has mutants {mutants:?}", test.name);
        }
        for mutant in CATALOGUE {
            if let Kind::Mutant { of, .. } = mutant.kind {
                let parent = find(of).unwrap_or_else(|| panic!("{} is a mutant of unknown {of}", mutant.name));
                assert!(!matches!(parent.kind, Kind::Mutant { .. }), "{} mutates a mutant", mutant.name);
                assert_eq!(parent.placement, mutant.placement, "{} moves its roles", mutant.name);
            }
        }
    }

    #[test]
    fn selecting_a_test_brings_its_mutant_and_unknown_names_are_listed() {
        let names = |v: Vec<&LitmusTest>| v.iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names(select(&["mp".into()]).unwrap()), ["mp", "mp~reversed"]);
        assert_eq!(names(select(&["mp~reversed".into()]).unwrap()), ["mp~reversed"]);
        assert_eq!(select(&[]).unwrap().len(), CATALOGUE.len());
        let err = select(&["mpp".into()]).unwrap_err();
        assert!(err.contains("--test mpp") && err.contains("iriw"), "{err}");
    }

    #[test]
    fn shapes_are_what_the_program_builder_supports() {
        for test in CATALOGUE {
            assert!((1..=4).contains(&test.roles()), "{}", test.name);
            assert!(test.registers() <= 4 && test.locations() <= 2, "{}", test.name);
            // Every role runs at least one access, and registers are written once.
            for role in 0..test.roles() {
                assert!(test.accesses().any(|(r, _)| r == role), "{} role {role} is empty", test.name);
            }
            let mut regs: Vec<usize> = test.accesses().filter_map(|(_, a)| a.register()).collect();
            let n = regs.len();
            regs.sort_unstable();
            regs.dedup();
            assert_eq!(regs.len(), n, "{} writes a register twice", test.name);
            assert!(test.watched_text.len() > 2);
        }
    }

    /// The outcomes of running the roles one after another, whole, in every order.
    fn sequential_outcomes(test: &LitmusTest) -> Vec<Observation> {
        fn orders(n: usize) -> Vec<Vec<usize>> {
            if n == 0 {
                return vec![vec![]];
            }
            let mut out = Vec::new();
            for rest in orders(n - 1) {
                for at in 0..=rest.len() {
                    let mut o = rest.clone();
                    o.insert(at, n - 1);
                    out.push(o);
                }
            }
            out
        }
        orders(test.roles())
            .into_iter()
            .map(|order| {
                let (mut mem, mut seen) = (test.initial, Observation::default());
                for role in order {
                    for (_, a) in test.accesses().filter(|(r, _)| *r == role) {
                        apply(a, &mut mem, &mut seen);
                    }
                }
                Observation { finals: mem, ..seen }
            })
            .collect()
    }

    /// One access under sequential consistency.
    fn apply(access: Access, mem: &mut [u32; 2], seen: &mut Observation) {
        match access {
            Access::Store(l, v) | Access::PlainStore(l, v) => mem[l.index()] = v,
            Access::Load(l, reg) | Access::PlainLoad(l, reg) => seen.registers[reg] = mem[l.index()],
            Access::CompareExchange(l, e, d, reg) => {
                seen.registers[reg] = mem[l.index()];
                if mem[l.index()] == e {
                    mem[l.index()] = d;
                }
            }
        }
    }

    /// Every interleaving of the roles' accesses (sequential consistency, one word per
    /// location), with each outcome it gives.
    fn sc_outcomes(test: &LitmusTest) -> Vec<Observation> {
        let roles: Vec<Vec<Access>> =
            (0..test.roles()).map(|r| test.accesses().filter(|(x, _)| *x == r).map(|(_, a)| a).collect()).collect();
        let mut out = Vec::new();
        fn walk(
            roles: &[Vec<Access>],
            at: &mut Vec<usize>,
            mem: [u32; 2],
            seen: Observation,
            out: &mut Vec<Observation>,
        ) {
            let mut any = false;
            for r in 0..roles.len() {
                if at[r] == roles[r].len() {
                    continue;
                }
                any = true;
                let (mut mem, mut seen) = (mem, seen);
                apply(roles[r][at[r]], &mut mem, &mut seen);
                at[r] += 1;
                walk(roles, at, mem, seen, out);
                at[r] -= 1;
            }
            if !any {
                out.push(Observation { finals: mem, ..seen });
            }
        }
        walk(&roles, &mut vec![0; roles.len()], test.initial, Observation::default(), &mut out);
        out
    }

    /// The catalogue's claims, checked by enumerating interleavings: a forbidden or
    /// allowed test's watched outcome is not sequentially consistent (so only a weak
    /// memory or a broken rule gives it); a mutant's is, but running the roles one after
    /// another never gives it (so only roles that overlap in time reach it), except the
    /// barrier's mutant, whose outcome is the load running before the store; and no
    /// interleaving is corrupt. Barriers are ignored here (they only remove interleavings).
    #[test]
    fn watched_outcomes_are_weak_for_tests_and_interleavings_for_mutants() {
        for test in CATALOGUE {
            let outcomes = sc_outcomes(test);
            assert!(outcomes.iter().all(|o| test.corrupt(o).is_none()), "{}", test.name);
            let reachable = outcomes.iter().any(|o| (test.watched)(o));
            match test.kind {
                Kind::Mutant { of, .. } => {
                    assert!(reachable, "mutant {} cannot show its outcome", test.name);
                    let parent = find(of).unwrap();
                    let barrier = parent.steps.contains(&Step::Barrier) && parent.placement == Placement::OneWorkgroup;
                    let sequential = sequential_outcomes(test).iter().any(|o| (test.watched)(o));
                    assert!(barrier || !sequential, "mutant {}'s outcome needs no overlap", test.name);
                }
                // barrier-mp's r0=0 is an interleaving without its barrier; the barrier is
                // what forbids it.
                _ if test.steps.contains(&Step::Barrier) && test.placement == Placement::OneWorkgroup => {}
                _ => assert!(!reachable, "{}'s watched outcome is an interleaving", test.name),
            }
        }
    }
}
