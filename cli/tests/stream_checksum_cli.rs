//! `megaloop run --builtin stream-checksum` as users call it: the printed checksum and the
//! JSON key match `crc32fast`; bad input exits 2 (arguments) or 1 (failed reads) with a
//! message that names the problem.

use std::process::{Command, Output};

fn megaloop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_megaloop")).args(args).output().expect("run megaloop")
}

/// A file of `len` bytes of its own (the tests run in parallel), deleted when dropped; and
/// its CRC-32.
fn input(len: usize) -> (tempfile::TempPath, u32) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
    let mut file = tempfile::Builder::new().prefix("megaloop-cli-stream-").tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    (file.into_temp_path(), crc32fast::hash(&bytes))
}

#[test]
fn prints_the_checksum_and_its_json() {
    let (path, crc) = input(100_003);
    let path = path.to_str().unwrap();
    let out = megaloop(&["run", "--builtin", "stream-checksum", "--input", path, "--chunk", "4096"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().next(), Some(format!("crc32 {crc:08x}").as_str()), "{stdout}");

    let out = megaloop(&["run", "--builtin", "stream-checksum", "--input", path, "--json", "--mode", "persistent"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["crc32"], format!("{crc:08x}"));
    assert_eq!(json["bytes"], 100_003);
}

#[test]
fn bad_input_exits_with_the_reason() {
    let missing = std::env::temp_dir().join("megaloop-cli-no-such-input.bin");
    let out = megaloop(&["run", "--builtin", "stream-checksum", "--input", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("megaloop-cli-no-such-input.bin") && stderr.contains("No such file"), "{stderr}");

    let (path, _) = input(10);
    let out = megaloop(&["run", "--builtin", "stream-checksum", "--input", path.to_str().unwrap(), "--chunk", "6"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--chunk 6") && stderr.contains("multiple of 4"), "{stderr}");

    // A directory opens, but every read of it fails in the kernel.
    let dir = std::env::temp_dir();
    let out = megaloop(&["run", "--builtin", "stream-checksum", "--input", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("IO request(s) failed") && stderr.contains("Is a directory"), "{stderr}");
}
