//! Helpers for the command-line tests: the shared `../testdata`, gzip,
//! and running the binary (never accepting a panic).
#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_stream-chat-export");

/// The repository's root: the library crate, which holds `testdata/`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// `testdata/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    root().join("testdata/fixtures")
}

/// The path of an entry of expected.json (`name` or `samples/name`).
pub fn input_path(name: &str) -> PathBuf {
    if name.starts_with("samples/") {
        root().join("testdata").join(name)
    } else {
        fixtures_dir().join(name)
    }
}

/// `testdata/fixtures/expected.json`, parsed.
pub fn expected() -> serde_json::Map<String, Value> {
    let text = fs::read(fixtures_dir().join("expected.json")).expect("read expected.json");
    match serde_json::from_slice(&text).expect("parse expected.json") {
        Value::Object(map) => map,
        other => panic!("expected.json is not an object: {other}"),
    }
}

/// Every fixture and documented sample, as `(name in expected.json, path)`,
/// sorted by name.
pub fn all_inputs() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (dir, prefix) in [
        (fixtures_dir(), ""),
        (root().join("testdata/samples"), "samples/"),
    ] {
        for entry in fs::read_dir(&dir).expect("read testdata dir") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name == "expected.json" || name.ends_with(".md") || !path.is_file() {
                continue;
            }
            out.push((format!("{prefix}{name}"), path));
        }
    }
    out.sort();
    out
}

/// The JSONTestSuite `test_parsing` files, sorted.
pub fn json_test_suite() -> Vec<PathBuf> {
    let dir = root().join("testdata/JSONTestSuite/test_parsing");
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read JSONTestSuite")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// gzip-compresses `bytes` (one member).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip finish")
}

/// The decompressed bytes of an input (as much as decodes); plain inputs
/// unchanged.
pub fn decompressed(bytes: &[u8]) -> Vec<u8> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return bytes.to_vec();
    }
    let mut dec = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Byte ranges `[start, end)` of the lines of `bytes` (without the `\n`),
/// 1-based line `i` at index `i - 1`.
pub fn line_spans(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            spans.push((start as u64, i as u64));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        spans.push((start as u64, bytes.len() as u64));
    }
    spans
}

/// Runs the tool; never accepts a panic or a signal.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    run_command(cmd, stdin)
}

/// As [`run`], for a prepared command (say, with a file as its stdin).
/// `stdin` is fed from a thread of its own: the child's output is read
/// meanwhile, so neither side can wait on a full pipe.
pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the binary");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // The tool may stop reading early; a broken pipe is fine.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = child.wait_with_output().expect("wait");
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    assert_ne!(
        out.status.code(),
        Some(101),
        "PANIC: {cmd:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some(), "killed by a signal: {cmd:?}");
    out
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
