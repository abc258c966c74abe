//! The projection against a `serde_json::Value` oracle.

use super::*;
use crate::model::keys::tests::Rng;
use serde_json::Value as Json;

/// The oracle's answer for a path: the last occurrence of each key (what
/// `Value` keeps), nothing through a non-object.
fn oracle<'v>(root: &'v Json, path: &[String]) -> Option<&'v Json> {
    path.iter().try_fold(root, |v, key| v.as_object()?.get(key))
}

/// Checks every field of `p` on `text` against the oracle: both fail, or
/// both succeed with equal values (raw text reparsed, and the decoded
/// string for strings).
fn check(p: &Projection, paths: &[Vec<String>], text: &str) {
    let want = serde_json::from_str::<Json>(text);
    let got = p.extract(text);
    let root = match (&want, &got) {
        // JSON allows any number; only serde_json's `Value` limits them
        // (the projection, like the decoder, checks the grammar alone).
        (Err(e), _) if e.to_string().contains("number out of range") => return,
        (Ok(root @ Json::Object(_)), Ok(_)) => root,
        (Ok(Json::Object(_)), Err(e)) => panic!("{text}: rejected a valid object: {e}"),
        (Ok(_), Ok(_)) => panic!("{text}: accepted a non-object"),
        (Err(e), Ok(_)) => panic!("{text}: accepted invalid JSON ({e})"),
        (_, Err(_)) => return,
    };
    let values = got.unwrap();
    assert_eq!(values.len(), p.len());
    for (i, (field, path)) in p.fields().zip(paths).enumerate() {
        let want = oracle(root, path);
        let got = values.get(i);
        match (want, got) {
            (None, None) => {}
            (Some(w), Some(g)) => {
                let reparsed: Json = serde_json::from_str(g.raw()).unwrap();
                assert_eq!(&reparsed, w, "{text}: {field}");
                assert_eq!(g.as_str().as_deref(), w.as_str(), "{text}: {field}");
                assert_eq!(g.is_null(), w.is_null(), "{text}: {field}");
                assert_eq!(g.is_number(), w.is_number(), "{text}: {field}");
                assert_eq!(g.as_bool(), w.as_bool(), "{text}: {field}");
                if let Some(w) = w.as_i64() {
                    assert_eq!(g.as_i64(), Some(w), "{text}: {field}");
                }
                if let Some(w) = w.as_f64() {
                    assert_eq!(g.as_f64(), Some(w), "{text}: {field}");
                }
            }
            (w, g) => panic!("{text}: {field}: want {w:?}, got {g:?}"),
        }
    }
}

const KEYS: [&str; 6] = ["a", "b", "id", "user", "x.y", "é"];

/// A key as it may be written: plain or with escapes.
fn write_key(rng: &mut Rng, key: &str, out: &mut String) {
    out.push('"');
    for c in key.chars() {
        match rng.below(6) {
            0 => out.push_str(&format!("\\u{:04x}", c as u32)),
            1 if c == 'é' => out.push_str("\\u00E9"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

const STRINGS: [&str; 9] = [
    r#""plain""#,
    r#""""#,
    r#""a\"b\\c\/d""#,
    r#""\u00e9t\u00E9""#,
    r#""\ud83d\ude00 smile""#,
    r#""\b\f\n\r\t""#,
    r#""caf\u00e9 ☕""#,
    r#""tab	no""#,
    r#""x\ud83d""#,
];
const SCALARS: [&str; 11] = [
    "0",
    "-1",
    "12.5e-3",
    "1E400",
    "18446744073709551616",
    "true",
    "false",
    "null",
    "01",
    "-",
    "nul",
];

fn write_value(rng: &mut Rng, depth: usize, out: &mut String) {
    match rng.below(if depth > 3 { 2 } else { 4 }) {
        0 => out.push_str(STRINGS[rng.below(STRINGS.len())]),
        1 => out.push_str(SCALARS[rng.below(SCALARS.len())]),
        2 => write_object(rng, depth + 1, out),
        _ => {
            out.push('[');
            for i in 0..rng.below(3) {
                if i > 0 {
                    out.push(',');
                }
                write_value(rng, depth + 1, out);
            }
            out.push(']');
        }
    }
}

fn write_object(rng: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    for i in 0..rng.below(5) {
        if i > 0 {
            out.push(',');
        }
        if rng.below(4) == 0 {
            out.push(' ');
        }
        let key = KEYS[rng.below(KEYS.len())];
        write_key(rng, key, out);
        out.push_str(if rng.below(4) == 0 { " : " } else { ":" });
        write_value(rng, depth, out);
    }
    out.push('}');
}

fn fields() -> (Projection, Vec<Vec<String>>) {
    let mut fields: Vec<String> = Vec::new();
    for a in KEYS.iter().filter(|k| !k.contains('.')) {
        fields.push(a.to_string());
        for b in ["a", "id", "user"] {
            fields.push(format!("{a}.{b}"));
            fields.push(format!("{a}.{b}.id"));
        }
    }
    fields.push("missing".into());
    fields.push("id".into()); // asked for twice
    let paths = fields
        .iter()
        .map(|f| f.split('.').map(String::from).collect())
        .collect();
    (Projection::new(&fields).unwrap(), paths)
}

/// Generated objects with escapes, duplicate keys, nesting, invalid
/// scalars, and damaged copies of them (cut short, a byte changed).
#[test]
fn agrees_with_the_oracle_on_generated_objects() {
    let (p, paths) = fields();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..30_000 {
        let mut text = String::new();
        write_object(&mut rng, 0, &mut text);
        match serde_json::from_str::<Json>(&text) {
            Ok(_) => valid += 1,
            Err(_) => invalid += 1,
        }
        check(&p, &paths, &text);
        // Damage: a prefix, a changed byte (ASCII, so the text stays a str).
        let cut = rng.below(text.len() + 1);
        if text.is_char_boundary(cut) {
            check(&p, &paths, &text[..cut]);
        }
        let at = rng.below(text.len());
        if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
            let mut damaged = text.clone();
            let noise = b"{}[]\":,\\ 0e-.tnx";
            let b = noise[rng.below(noise.len())] as char;
            damaged.replace_range(at..at + 1, &b.to_string());
            check(&p, &paths, &damaged);
        }
    }
    assert!(
        valid > 5_000 && invalid > 5_000,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn duplicates_resolve_as_the_oracle() {
    let fields = ["user", "user.id", "id"];
    let p = Projection::new(&fields).unwrap();
    let paths: Vec<Vec<String>> = fields
        .iter()
        .map(|f| f.split('.').map(String::from).collect())
        .collect();
    for text in [
        r#"{"user":{"id":"a"},"user":{"name":"n"}}"#,
        r#"{"user":{"id":"a"},"user":"s"}"#,
        r#"{"user":"s","user":{"id":"b","id":"c"}}"#,
        r#"{"id":1,"user":{"id":"a"},"id":2}"#,
        r#"{"\u0075ser":{"i\u0064":"esc"}}"#,
    ] {
        check(&p, &paths, text);
    }
    let v = p
        .extract(r#"{"user":{"id":"a"},"user":{"name":"n"}}"#)
        .unwrap();
    assert!(v.get(1).is_none());
    assert_eq!(v.get(0).unwrap().kind(), ValueKind::Object);
}

#[test]
fn non_objects_invalid_json_and_depth_are_errors() {
    let p = Projection::new(&["a"]).unwrap();
    for text in ["[1]", "\"s\"", "1", "null", " "] {
        assert!(p.extract(text).is_err(), "{text}");
    }
    assert!(matches!(
        p.extract("[1]").unwrap_err().kind(),
        ErrorKind::NotAnObject
    ));
    for text in [
        "",
        "{",
        r#"{"a""#,
        r#"{"a":}"#,
        r#"{"a":1,}"#,
        r#"{"a":1} x"#,
        r#"{"a":"\x"}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00"}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":tru}"#,
        "{\"a\":\"\u{1}\"}",
        r#"{"a" 1}"#,
        r#"{1:1}"#,
    ] {
        assert!(
            serde_json::from_str::<Json>(text).is_err(),
            "oracle: {text}"
        );
        assert!(p.extract(text).is_err(), "{text}");
    }
    // Out of f64's range, yet valid JSON: projected as written.
    let v = p.extract(r#"{"b":1e999,"a":-1e400}"#).unwrap();
    assert_eq!(v.get(0).unwrap().raw(), "-1e400");
    assert_eq!(v.get(0).unwrap().as_f64(), Some(f64::NEG_INFINITY));
    // serde_json's depth limit, exactly: 127 levels pass, 128 fail.
    for (depth, ok) in [(127, true), (128, false)] {
        let text = format!(
            r#"{{"a":{}1{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        );
        assert_eq!(
            serde_json::from_str::<Json>(&text).is_ok(),
            ok,
            "oracle {depth}"
        );
        assert_eq!(p.extract(&text).is_ok(), ok, "{depth}");
        let nested = Projection::new(&["a.a.a"]).unwrap();
        let text = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert_eq!(nested.extract(&text).is_ok(), ok, "objects {depth}");
    }
    // Far too deep: an error, not a stack overflow.
    let text = format!(r#"{{"a":{}}}"#, "[".repeat(1 << 20));
    assert!(p.extract(&text).is_err());
}

#[test]
fn strings_borrow_unless_escaped() {
    let p = Projection::new(&["a", "b"]).unwrap();
    let v = p.extract(r#"{"a":"plain","b":"caf\u00e9"}"#).unwrap();
    assert!(matches!(
        v.get(0).unwrap().as_str(),
        Some(Cow::Borrowed("plain"))
    ));
    assert!(matches!(v.get(1).unwrap().as_str(), Some(Cow::Owned(s)) if s == "café"));
    assert_eq!(v.get(1).unwrap().raw(), r#""caf\u00e9""#);
}

#[test]
fn invalid_fields_are_usage_errors() {
    for field in ["", "a.", ".a", "a..b"] {
        let e = Projection::new(&[field]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{field}");
    }
}

#[test]
fn a_reused_buffer_is_cleared_between_records() {
    let p = Projection::new(&["a", "b"]).unwrap();
    let mut values = Values::new();
    p.extract_into(r#"{"a":1,"b":2}"#, &mut values).unwrap();
    p.extract_into(r#"{"a":3}"#, &mut values).unwrap();
    assert_eq!(values.get(0).unwrap().raw(), "3");
    assert!(values.get(1).is_none());
    assert!(p.extract_into(r#"{"a":4,"b":"#, &mut values).is_err());
    assert!(values.iter().all(|v| v.is_none()));
    let owned = String::from(r#"{"b":5}"#);
    let mut values = values.recycle();
    p.extract_into(&owned, &mut values).unwrap();
    assert_eq!(values.get(1).unwrap().raw(), "5");
}

/// Every entity of every fixture: each top-level key's value, through a
/// projection of all of them and through `Entity::get`, equals the
/// oracle's.
#[test]
fn agrees_with_the_oracle_on_every_fixture_entity() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
    let mut checked = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let Ok(reader) = crate::ReaderBuilder::new().from_path(&path) else {
            continue;
        };
        for entity in reader.into_owned_iter().flatten() {
            let Ok(Json::Object(map)) = entity.to_value() else {
                continue;
            };
            let keys: Vec<Vec<&str>> = map.keys().map(|k| vec![k.as_str()]).collect();
            let p = Projection::from_paths(&keys).unwrap();
            let values = entity.project(&p).unwrap();
            for (i, (key, want)) in map.iter().enumerate() {
                let got = values.get(i).unwrap();
                let got: Json = serde_json::from_str(got.raw()).unwrap();
                assert_eq!(&got, want, "{}: {key}", path.display());
                let via_get: Json = serde_json::from_str(entity.get(key).unwrap().get()).unwrap();
                assert_eq!(&via_get, want, "{}: get({key})", path.display());
                checked += 1;
            }
            let paths: Vec<Vec<String>> = map.keys().map(|k| vec![k.clone()]).collect();
            check(&p, &paths, entity.raw_str());
        }
    }
    assert!(checked > 200, "only {checked} values checked");
}
