//! Each iteration's stress: MC Mutants' parallel testing environment, randomised per
//! dispatch from one seed (which workgroups test, how lanes pair up across workgroups, how
//! locations are spread and padded, how hard spare workgroups hammer memory).

use crate::litmus::catalogue::{LitmusTest, Placement};
use crate::litmus::program::{param, Params, Shape, MAX_STRIDE, SCRATCH_LINES};

/// How hard an iteration may stress (each iteration draws below these).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stress {
    /// Most stress iterations of a spare lane.
    pub stress_iterations: u32,
    /// Most pre-test stress iterations of a testing lane.
    pub pre_stress_iterations: u32,
    /// Most spin rounds before the test.
    pub spin: u32,
}

impl Stress {
    /// The most iterations of any stress loop or spin (a lane's loops stay far below a
    /// driver's loop cap and the watchdog).
    pub const MAX_ITERATIONS: u32 = 1 << 16;

    /// What `megaloop litmus` uses by default (the MC Mutants defaults' order of
    /// magnitude: 1,024 stress iterations, some pre-stress, a bounded spin).
    pub const DEFAULT: Stress = Stress { stress_iterations: 1024, pre_stress_iterations: 128, spin: 1024 };
}

/// Odd numbers below `size` (a power of two) are the lane multipliers that permute.
fn odd_below(rng: &mut fastrand::Rng, size: u32) -> u32 {
    if size <= 2 {
        1
    } else {
        rng.u32(0..size / 2) * 2 + 1
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A multiplier that permutes `0..n` (coprime with `n`).
fn coprime_below(rng: &mut fastrand::Rng, n: u32) -> u32 {
    loop {
        let m = rng.u32(1..n.max(2));
        if gcd(m, n) == 1 {
            return m;
        }
    }
}

/// Draw one iteration: its parameters and the physical-to-logical workgroup shuffle.
/// Roles of an instance land in distinct workgroups (different lanes of one workgroup
/// for [`Placement::OneWorkgroup`]); each role's pairing is a bijection on lanes, so
/// every instance gets exactly one lane per role.
pub fn draw(rng: &mut fastrand::Rng, test: &LitmusTest, shape: &Shape, stress: &Stress) -> (Params, Vec<u32>) {
    let mut w = vec![0u32; param::WORDS as usize];
    let t = shape.testing_workgroups;
    let size = shape.workgroup_size;
    w[param::TESTING as usize] = t;
    w[param::LANES as usize] = shape.instances();
    w[param::STRIDE as usize] = 1 << rng.u32(0..=MAX_STRIDE.trailing_zeros());
    w[param::STRESS_ITERATIONS as usize] = rng.u32(0..=stress.stress_iterations);
    w[param::STRESS_PATTERN as usize] = rng.u32(0..4);
    w[param::PRE_STRESS_ITERATIONS as usize] = rng.u32(0..=stress.pre_stress_iterations);
    w[param::PRE_STRESS_PATTERN as usize] = rng.u32(0..4);
    w[param::LINES as usize] = rng.u32(1..=SCRATCH_LINES);
    // Most iterations spin to line the roles up; some let them start as they come.
    w[param::SPIN as usize] = if rng.u32(0..4) == 0 { 0 } else { stress.spin };
    let roles = test.roles() as u32;
    match test.placement {
        Placement::AcrossWorkgroups => {
            // Distinct shifts, 0 for role 0: each role of an instance in its own workgroup.
            let mut shifts: Vec<u32> = (1..t).collect();
            rng.shuffle(&mut shifts);
            for r in 0..roles {
                let shift = if r == 0 { 0 } else { shifts[(r - 1) as usize] };
                w[(param::SHIFT + r) as usize] = shift;
                w[(param::MUL + r) as usize] = odd_below(rng, size);
                w[(param::ADD + r) as usize] = rng.u32(0..size);
            }
        }
        Placement::OneWorkgroup => {
            // Same workgroup, distinct lanes: offsets distinct mod the workgroup size.
            let mut adds: Vec<u32> = (1..size).collect();
            rng.shuffle(&mut adds);
            for r in 0..roles {
                w[(param::MUL + r) as usize] = 1;
                w[(param::ADD + r) as usize] = if r == 0 { 0 } else { adds[(r - 1) as usize] };
            }
        }
    }
    // Half the iterations spread an instance's locations apart, half keep them in order.
    let n = shape.instances();
    for a in 0..2 {
        w[(param::LOCATION_MUL + a) as usize] = if rng.bool() { 1 } else { coprime_below(rng, n) };
    }
    let mut shuffle: Vec<u32> = (0..shape.workgroups()).collect();
    rng.shuffle(&mut shuffle);
    (Params { words: w }, shuffle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::litmus::catalogue::{Loc, CATALOGUE};
    use std::collections::HashSet;

    /// Every instance gets exactly one lane per role, roles in distinct workgroups (or
    /// distinct lanes of one), and every location of every instance its own word inside
    /// the location area.
    #[test]
    fn roles_pair_up_exactly_and_locations_never_alias() {
        let shape = Shape { workgroup_size: 16, testing_workgroups: 5, stress_workgroups: 2 };
        let mut rng = fastrand::Rng::with_seed(7);
        for test in CATALOGUE {
            for _ in 0..20 {
                let (params, shuffle) = draw(&mut rng, test, &shape, &Stress::DEFAULT);
                let mut sorted = shuffle.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..shape.workgroups()).collect::<Vec<_>>());
                let mut players: Vec<Vec<Option<(u32, u32)>>> =
                    vec![vec![None; test.roles()]; shape.instances() as usize];
                for group in 0..shape.testing_workgroups {
                    for lane in 0..shape.workgroup_size {
                        for role in 0..test.roles() {
                            let player = &mut players[params.instance(&shape, role, group, lane) as usize][role];
                            assert!(player.replace((group, lane)).is_none(), "{} role {role} twice", test.name);
                        }
                    }
                }
                for who in &players {
                    let who: Vec<(u32, u32)> = who.iter().map(|p| p.expect("a role nobody plays")).collect();
                    match test.placement {
                        Placement::AcrossWorkgroups => {
                            let groups: HashSet<u32> = who.iter().map(|p| p.0).collect();
                            assert_eq!(groups.len(), who.len(), "{}: roles share a workgroup", test.name);
                        }
                        Placement::OneWorkgroup => {
                            let lanes: HashSet<(u32, u32)> = who.iter().copied().collect();
                            assert_eq!(lanes.len(), who.len(), "{}: one lane plays two roles", test.name);
                            assert!(who.iter().all(|p| p.0 == who[0].0), "{}: roles in two workgroups", test.name);
                        }
                    }
                }
                let mut words = HashSet::new();
                for i in 0..shape.instances() {
                    for loc in Loc::ALL {
                        let a = params.address(&shape, loc, i);
                        assert!(a < shape.location_words());
                        assert!(words.insert(a), "two locations share word {a}");
                    }
                }
            }
        }
    }
}
