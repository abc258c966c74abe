//! Output integrity and the option fixes: an input is never the output,
//! nothing half-written appears under the final name, write errors are
//! errors, empty id lists are refused, sizes take suffixes.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch folder holding a copy of a fixture as `x.jsonl`.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.jsonl");
    fs::copy(input_path("v2_item.jsonl"), &x).unwrap();
    (dir, x)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_refused(out: &std::process::Output, what: &str) {
    assert_eq!(code(out), 2, "{what}: {}", stderr(out));
    assert!(
        stderr(out).contains("same file as the input"),
        "{what}: {}",
        stderr(out)
    );
    assert!(out.stdout.is_empty(), "{what}");
}

/// `filter -o X X` used to truncate X before reading it and exit 0. Every
/// spelling of "the output is an input" is refused with exit 2 and leaves
/// the input byte-identical and the folder as it was.
#[test]
fn output_that_is_an_input_is_refused() {
    let (dir, x) = scratch();
    let original = fs::read(&x).unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let hard = dir.path().join("hard.jsonl");
    fs::hard_link(&x, &hard).unwrap();
    let gz = dir.path().join("x.jsonl.gz");
    fs::write(&gz, gzip(&original)).unwrap();
    let gz_bytes = fs::read(&gz).unwrap();
    let before = names(dir.path());
    let in_dir = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir.path()).args(args);
        run_command(cmd, None)
    };
    for (what, args) in [
        ("-o X X", vec!["filter", "-o", s(&x), s(&x)]),
        ("-o ./X X", vec!["filter", "-o", "./x.jsonl", "x.jsonl"]),
        ("symlink", vec!["filter", "-o", s(&link), s(&x)]),
        ("hard link", vec!["filter", "-o", s(&hard), s(&x)]),
        ("gz", vec!["filter", "-o", s(&gz), s(&gz)]),
        ("among others", vec!["filter", "-o", s(&x), s(&gz), s(&x)]),
    ] {
        assert_refused(&in_dir(&args), what);
    }
    // `-o X - < X`: standard input is X.
    let mut cmd = Command::new(BIN);
    cmd.args(["filter", "-o", s(&x), "-"])
        .stdin(Stdio::from(fs::File::open(&x).unwrap()));
    assert_refused(&run_command(cmd, None), "-o X - < X");
    // `filter X >> X`: standard output is X.
    let mut cmd = Command::new(BIN);
    cmd.args(["filter", s(&x)]).stdout(Stdio::from(
        fs::OpenOptions::new().append(true).open(&x).unwrap(),
    ));
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(fs::read(&x).unwrap(), original, "the input is untouched");
    assert_eq!(fs::read(&gz).unwrap(), gz_bytes);
    assert_eq!(names(dir.path()), before, "nothing left behind");
}

/// A finished output appears under its final name, complete; a failed run
/// leaves an existing output as it was and no temporary file behind.
#[test]
fn output_appears_only_when_complete() {
    let (dir, x) = scratch();
    let out_path = dir.path().join("out.jsonl");
    let gz_path = dir.path().join("out.jsonl.gz");
    let ok = run(&["filter", "-o", s(&out_path), s(&x)], None);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let plain = fs::read(&out_path).unwrap();
    assert_eq!(plain, run(&["filter", s(&x)], None).stdout);
    let ok = run(&["filter", "-o", s(&gz_path), s(&x)], None);
    assert_eq!(code(&ok), 0);
    // The gzip trailer is there: a strict decoder reads it to the end.
    let gz_bytes = fs::read(&gz_path).unwrap();
    let mut dec = flate2::read::GzDecoder::new(&gz_bytes[..]);
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut dec, &mut text).unwrap();
    assert_eq!(text, plain);
    // A run that fails (the second input is missing) keeps the old output.
    let missing = dir.path().join("missing.jsonl");
    let failed = run(&["filter", "-o", s(&out_path), s(&x), s(&missing)], None);
    assert_eq!(code(&failed), 2);
    assert!(
        stderr(&failed).contains("missing.jsonl"),
        "{}",
        stderr(&failed)
    );
    assert!(
        !stderr(&failed).contains("entities written"),
        "{}",
        stderr(&failed)
    );
    assert_eq!(fs::read(&out_path).unwrap(), plain);
    // So does a strict run stopped by a bad record (exit 1).
    let bad = input_path("v2_malformed.jsonl");
    let failed = run(&["filter", "--strict", "-o", s(&out_path), s(&bad)], None);
    assert_eq!(code(&failed), 1);
    assert_eq!(fs::read(&out_path).unwrap(), plain);
    assert_eq!(
        names(dir.path()),
        ["out.jsonl", "out.jsonl.gz", "x.jsonl"],
        "no temporary file left"
    );
}

/// A full disk is an error naming the output, printed once, with no
/// "entities written" note: `-o /dev/full` and stdout on /dev/full, plain
/// and gzip.
#[test]
fn full_disk_is_an_error() {
    let input = input_path("v2_item.jsonl");
    for args in [
        vec!["filter", "-o", "/dev/full", s(&input)],
        vec!["filter", "-o", "/dev/full", "--kind", "user", s(&input)],
    ] {
        let out = run(&args, None);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.matches("write error").count(), 1, "{err}");
        assert!(err.contains("/dev/full: write error"), "{err}");
        assert!(
            !err.contains("read error") && !err.contains("written"),
            "{err}"
        );
    }
    for cmd in ["filter", "validate", "inspect"] {
        let mut c = Command::new(BIN);
        let file = if cmd == "validate" {
            input_path("v2_malformed.jsonl")
        } else {
            input.clone()
        };
        c.args([cmd, s(&file)]).stdout(Stdio::from(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        ));
        let out = c.output().unwrap();
        assert_eq!(code(&out), 2, "{cmd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("<stdout>: write error"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}

/// A missing output folder, or a file where a folder should be: exit 2,
/// and nothing is created.
#[test]
fn unwritable_output_folder_exits_2() {
    let (dir, x) = scratch();
    let before = names(dir.path());
    for out_path in [
        dir.path().join("absent/out.jsonl"),
        dir.path().join("x.jsonl/out.jsonl"),
        dir.path().to_path_buf(),
    ] {
        let out = run(&["filter", "-o", s(&out_path), s(&x)], None);
        assert_eq!(code(&out), 2, "{}", out_path.display());
        assert!(stderr(&out).contains(s(&out_path)), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    assert_eq!(names(dir.path()), before);
}

/// `-o -` is stdout, not a file named `-`.
#[test]
fn dash_output_is_stdout() {
    let (dir, x) = scratch();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["filter", "-o", "-", "x.jsonl"]);
    let out = run_command(cmd, None);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, run(&["filter", s(&x)], None).stdout);
    assert!(!dir.path().join("-").exists());
}

/// An id list that yields no id used to drop the predicate and export
/// everything (a data leak for a per-user extract). Empty lists and empty
/// ids are usage errors.
#[test]
fn empty_id_lists_are_refused() {
    let (dir, x) = scratch();
    let blank = dir.path().join("blank.txt");
    fs::write(&blank, "\n  \n\r\n").unwrap();
    let empty = dir.path().join("empty.txt");
    fs::write(&empty, "").unwrap();
    let ids = dir.path().join("ids.txt");
    fs::write(&ids, "user-17\n").unwrap();
    for args in [
        vec!["filter", "--users-file", s(&blank), s(&x)],
        vec!["filter", "--users-file", s(&empty), s(&x)],
        vec![
            "filter",
            "--users-file",
            s(&ids),
            "--users-file",
            s(&blank),
            s(&x),
        ],
        vec!["filter", "--user", "", s(&x)],
        vec!["filter", "--user", "user-17", "--user", " ", s(&x)],
        vec!["filter", "--channels-file", s(&blank), s(&x)],
        vec!["filter", "--channel", "", s(&x)],
    ] {
        let out = run(&args, None);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing exported");
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
}

/// Sizes take suffixes; `-j` is on every command (0: all cores) and
/// changes nothing in the output; `--no-mmap` neither; `-q` silences the
/// summary; the limit hint names the CLI option.
#[test]
fn options() {
    let input = input_path("v2_item.jsonl");
    let want = run(&["filter", s(&input)], None);
    assert!(stderr(&want).contains("entities written"));
    for extra in [
        &["-j", "0"][..],
        &["-j", "1"],
        &["--threads", "2"],
        &["--no-mmap"],
        &["--max-line", "64MiB"],
        &["--max-line", "1GiB", "--max-entity", "10MB"],
        &["--max-line", "512KiB"],
        &["--max-line", "100000"],
    ] {
        let mut args = vec!["filter"];
        args.extend(extra);
        args.push(s(&input));
        let got = run(&args, None);
        assert_eq!(code(&got), 0, "{extra:?}: {}", stderr(&got));
        assert_eq!(got.stdout, want.stdout, "{extra:?}");
    }
    let quiet = run(&["filter", "-q", s(&input)], None);
    assert_eq!(quiet.stdout, want.stdout);
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
    for cmd in ["inspect", "validate"] {
        for j in ["0", "3"] {
            let out = run(&[cmd, "-j", j, "--no-mmap", s(&input)], None);
            assert_eq!(code(&out), 0, "{cmd} -j {j}");
        }
    }
    let out = run(&["filter", "--max-line", "64M", s(&input)], None);
    assert_eq!(code(&out), 2, "ambiguous unit refused");
    // The library says what happened; the CLI adds which option helps.
    let out = run(&["validate", "--max-line", "100B", s(&input)], None);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("(raise the limit with --max-line)"),
        "{}",
        stdout(&out)
    );
}

/// Every command's long help gives examples and the exit codes; the
/// top-level help lists only commands that exist.
#[test]
fn help_texts() {
    for cmd in ["inspect", "validate", "filter", "convert", "stats"] {
        let out = run(&[cmd, "--help"], None);
        assert_eq!(code(&out), 0);
        let text = stdout(&out);
        assert!(text.contains("Examples:"), "{cmd}: {text}");
        assert!(text.contains("Exit codes:"), "{cmd}: {text}");
        assert!(text.contains("-j, --threads"), "{cmd}: {text}");
        assert!(text.contains("--no-mmap"), "{cmd}: {text}");
    }
    for sub in ["channels", "users", "wait"] {
        let out = run(&["export", sub, "--help"], None);
        assert_eq!(code(&out), 0);
        let text = stdout(&out);
        assert!(text.contains("Examples:"), "export {sub}: {text}");
        assert!(text.contains("Exit codes:"), "export {sub}: {text}");
        assert!(text.contains("--out <DIR>"), "export {sub}: {text}");
    }
    let out = run(&["--help"], None);
    let text = stdout(&out);
    let commands: Vec<&str> = text
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .take_while(|w| !w.ends_with(':'))
        .collect();
    assert_eq!(
        commands,
        [
            "inspect", "validate", "filter", "convert", "export", "stats", "help"
        ],
        "{text}"
    );
    assert!(!text.contains("analyze"), "{text}");
}
