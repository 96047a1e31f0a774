//! What the IR's `crc32` statement computes (specs/protocol.md 1.5), in one place for
//! megaloop's engines: zlib's CRC-32 continued over a word range of a buffer, the range
//! clamped to the buffer's end.

/// Bytes of a `words`-word buffer the statement reads from word `word` when asked for
/// `bytes`: up to the buffer's end, none when `word` is past it.
pub fn clamped_bytes(words: usize, word: u32, bytes: u32) -> usize {
    let left = words.saturating_sub(word as usize).saturating_mul(4);
    left.min(bytes as usize)
}

/// `crc32(crc, bytes)` as zlib computes it, over the little-endian bytes of words
/// `load(word), load(word + 1), ...` of a `words`-word buffer, `bytes` of them (clamped
/// with [`clamped_bytes`]). `load` is called once per word read, in order.
pub fn crc32_of_words(crc: u32, words: usize, word: u32, bytes: u32, mut load: impl FnMut(usize) -> u32) -> u32 {
    let count = clamped_bytes(words, word, bytes);
    let mut hasher = crc32fast::Hasher::new_with_initial(crc);
    let mut block = [0u32; 1024];
    let (mut done, mut at) = (0usize, word as usize);
    while done < count {
        let take = (count - done).min(4 * block.len());
        let filled = &mut block[..take.div_ceil(4)];
        for (k, w) in filled.iter_mut().enumerate() {
            *w = load(at + k).to_le();
        }
        at += filled.len();
        hasher.update(&bytemuck::cast_slice::<u32, u8>(filled)[..take]);
        done += take;
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_zlibs_crc_of_the_little_endian_bytes_clamped_to_the_buffer() {
        let words: Vec<u32> = (0..3000u32).map(|k| k.wrapping_mul(0x9E37_79B9)).collect();
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let of = |crc, word: u32, n: u32| crc32_of_words(crc, words.len(), word, n, |i| words[i]);
        for (word, n) in [(0u32, 0u32), (0, 1), (1, 7), (5, 4096), (2, 4097), (0, 12_000), (10, 9_999)] {
            let start = 4 * word as usize;
            assert_eq!(of(0, word, n), crc32fast::hash(&bytes[start..start + n as usize]), "word {word}, {n} bytes");
        }
        // Continuing: crc(a || b) from crc(a).
        assert_eq!(of(of(0, 0, 8), 2, 4088), crc32fast::hash(&bytes[..4096]));
        // Clamped at the end, nothing past it.
        assert_eq!(of(0, 2990, 1_000), crc32fast::hash(&bytes[2990 * 4..]));
        assert_eq!(of(0x1234, 3000, 8), 0x1234);
        assert_eq!(of(0x1234, u32::MAX, u32::MAX), 0x1234);
        assert_eq!(clamped_bytes(3, 1, u32::MAX), 8);
    }
}
