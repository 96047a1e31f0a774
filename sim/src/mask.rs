//! Lane masks for up to 256 lanes (the largest workgroup).

/// A set of lanes of one warp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Mask([u64; 4]);

impl Mask {
    /// No lanes.
    pub const NONE: Mask = Mask([0; 4]);

    /// Lanes `0..width`.
    pub fn first(width: u32) -> Mask {
        let mut m = [0u64; 4];
        for (k, word) in m.iter_mut().enumerate() {
            let lo = k as u32 * 64;
            if width >= lo + 64 {
                *word = u64::MAX;
            } else if width > lo {
                *word = (1u64 << (width - lo)) - 1;
            }
        }
        Mask(m)
    }

    /// Whether any lane is set.
    #[inline]
    pub fn any(&self) -> bool {
        self.0.iter().any(|&w| w != 0)
    }

    /// Set lane `l`.
    #[inline]
    pub fn set(&mut self, l: u32) {
        self.0[(l / 64) as usize] |= 1 << (l % 64);
    }

    /// `self & other`.
    #[inline]
    pub fn and(self, other: Mask) -> Mask {
        Mask([self.0[0] & other.0[0], self.0[1] & other.0[1], self.0[2] & other.0[2], self.0[3] & other.0[3]])
    }

    /// `self & !other`.
    #[inline]
    pub fn and_not(self, other: Mask) -> Mask {
        Mask([self.0[0] & !other.0[0], self.0[1] & !other.0[1], self.0[2] & !other.0[2], self.0[3] & !other.0[3]])
    }

    /// `self | other`.
    #[inline]
    pub fn or(self, other: Mask) -> Mask {
        Mask([self.0[0] | other.0[0], self.0[1] | other.0[1], self.0[2] | other.0[2], self.0[3] | other.0[3]])
    }

    /// The set lanes in ascending order.
    #[inline]
    pub fn lanes(self) -> impl Iterator<Item = u32> {
        self.0.into_iter().enumerate().flat_map(|(k, mut w)| {
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros();
                w &= w - 1;
                Some(k as u32 * 64 + bit)
            })
        })
    }
}
