//! The skeleton against the walker's own reading of a document: a byte
//! by byte walk from the start, strings tracked as the walker's scan
//! tracks them (a backslash escapes only inside a string), any closing
//! bracket closing the innermost open one.

use super::*;
use crate::json::index::Scalar;

/// For every opening bracket outside strings: its offset and the end of
/// its value (one past the closing bracket), if it closes.
fn walker_ends(doc: &[u8]) -> Vec<(u64, Option<u64>)> {
    let mut out: Vec<(u64, Option<u64>)> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in doc.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                stack.push(out.len());
                out.push((i as u64, None));
            }
            b'}' | b']' => match stack.pop() {
                Some(open) => out[open].1 = Some(i as u64 + 1),
                // The walker stops at a stray closing bracket: nothing
                // after it is asked.
                None => break,
            },
            _ => {}
        }
    }
    out
}

/// Indexes `doc` in chunks of `size` with kernel `k`, pushing each chunk
/// as soon as it is indexed, and asks for every opening bracket's end.
fn skeleton_ends<K: Kernel>(k: K, doc: &[u8], size: usize, valid: bool) -> Vec<(u64, Option<u64>)> {
    let mut skeleton = Skeleton::new(0);
    // Indexed a few chunks at a time, as the engine does, each call
    // starting where the last one's cuts ended.
    while (skeleton.indexed() as usize) < doc.len() {
        let from = skeleton.indexed() as usize;
        for (s, e) in cuts(doc, from, from + 3 * size, size) {
            let before = s.checked_sub(1).map(|b| doc[b]);
            assert_ne!(before, Some(b'\\'), "cut after a backslash");
            skeleton.push(index_generic(k, doc, s, e));
        }
    }
    assert_eq!(skeleton.indexed(), doc.len() as u64);
    let opens = walker_ends(doc);
    let mut named = Vec::new();
    let ends = (opens.iter())
        .map(|&(open, _)| (open, skeleton.end_of(open, |at| named.push(at))))
        .collect();
    // Prefetch hints: each named once, in order; in valid JSON, opening
    // brackets of the document (past an error they are only guesses).
    assert!(
        named.windows(2).all(|w| w[0] < w[1]),
        "named twice or out of order"
    );
    for at in named.into_iter().filter(|_| valid) {
        assert!(
            opens.binary_search_by_key(&at, |&(o, _)| o).is_ok(),
            "{at} opens nothing"
        );
    }
    ends
}

fn check(doc: &[u8], valid: bool) {
    let want = walker_ends(doc);
    for size in [1, 2, 3, 7, 63, 64, 65, 128, 200, 1 << 20] {
        for (kernel, got) in [
            ("scalar", skeleton_ends(Scalar, doc, size, valid)),
            ("chosen", {
                let mut skeleton = Skeleton::new(0);
                for (s, e) in cuts(doc, 0, doc.len(), size) {
                    skeleton.push(index_chunk(doc, s, e));
                }
                want.iter()
                    .map(|&(o, _)| (o, skeleton.end_of(o, |_| {})))
                    .collect()
            }),
        ] {
            for (&(open, w), &(_, g)) in want.iter().zip(&got) {
                let doc_text = String::from_utf8_lossy(doc);
                if valid {
                    // Valid JSON: every answer is known, and right.
                    assert_eq!(g, w, "{kernel} size {size} open {open} in {doc_text}");
                } else if let Some(g) = g {
                    // Anything else: right or silent.
                    assert_eq!(Some(g), w, "{kernel} size {size} open {open} in {doc_text}");
                }
            }
        }
    }
}

#[test]
fn names_the_values_that_follow_at_the_same_level() {
    let doc = br#"[{"a":1},{"b":[2,{"x":[]}]},"s",{"c":"{"},[3]]"#;
    let mut skeleton = Skeleton::new(0);
    skeleton.push(index_chunk(doc, 0, doc.len()));
    let starts = |text: &str| -> u64 {
        let at = doc.windows(text.len()).position(|w| w == text.as_bytes());
        at.expect("in the document") as u64
    };
    let mut named = Vec::new();
    assert_eq!(
        skeleton.end_of(1, |at| named.push(at)),
        Some(starts(r#",{"b""#))
    );
    // The elements after the first, skipping the nested brackets and the
    // string: each once.
    let want = vec![starts(r#"{"b""#), starts(r#"{"c""#), starts("[3]")];
    assert_eq!(named, want);
    named.clear();
    skeleton.end_of(starts(r#"{"b""#), |at| named.push(at));
    assert_eq!(named, Vec::<u64>::new(), "already named");
}

#[test]
fn ends_of_valid_documents() {
    let docs: &[&[u8]] = &[
        br#"{"channel":{"id":"a","cid":"m:a"},"messages":[{"id":"1","text":"[}{]"},{"id":"2","text":"\"]\\"}],"members":[]}"#,
        br#"[{"a":[[],[[]],{}]},"\\\\\\\"[",{"b":"}"}]"#,
        b"{\n  \"messages\": [\n    {\"text\": \"line \\\\\"}\n  ]\n}\n",
        br#"{"k":"\\","l":["\\\"{"],"m":{"n":"\u005b"}}"#,
        br#"[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"#,
        b"[]",
    ];
    for doc in docs {
        let _: serde_json::Value = serde_json::from_slice(doc).expect("the case is valid JSON");
        check(doc, true);
    }
}

#[test]
fn ends_of_generated_valid_documents() {
    // Strings full of brackets, quotes and backslash runs of every length,
    // so that chunk cuts land inside strings, escapes and runs.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..60 {
        let mut doc = String::from("{\"messages\":[");
        for m in 0..(next() % 12) {
            if m > 0 {
                doc.push(',');
            }
            let text: String = (0..next() % 40)
                .map(|_| ["[", "]", "{", "}", "\\\\", "\\\"", "a", " ", ","][(next() % 9) as usize])
                .collect();
            let nested = "[".repeat((next() % 4) as usize);
            let close = "]".repeat(nested.len());
            doc.push_str(&format!(
                "{{\"id\":\"{m}\",\"text\":\"{text}\",\"x\":{nested}0{close},\"u\":{{\"n\":\"{text}\"}}}}"
            ));
        }
        doc.push_str("]}");
        let _: serde_json::Value = serde_json::from_str(&doc).expect("generated JSON is valid");
        check(doc.as_bytes(), true);
    }
}

#[test]
fn invalid_documents_get_right_answers_or_none() {
    let alphabet = b"\"\\{}[]:, a\n";
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for len in 0..120 {
        for _ in 0..8 {
            let doc: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            check(&doc, false);
        }
    }
    // A backslash outside strings: the escape scanner and the walker part
    // ways, so the skeleton must go quiet after it.
    check(br#"[{"a":1}, \"x", {"b":"]"}]"#, false);
    // More closing brackets than opening ones.
    check(br#"[{"a":1}]]{"b":[2]}"#, false);
}

#[test]
fn forgets_what_the_walker_passed() {
    let one = br#"{"id":"x","text":"[[[]"},"#;
    let doc: Vec<u8> = [&b"["[..], &one.repeat(1000), &b"{}]"[..]].concat();
    let mut skeleton = Skeleton::new(0);
    for (s, e) in cuts(&doc, 0, doc.len(), 256) {
        skeleton.push(index_chunk(&doc, s, e));
    }
    let last = doc.len() as u64 - 3;
    assert_eq!(skeleton.end_of(last, |_| {}), Some(last + 2));
    assert_eq!(
        skeleton.chunks.len(),
        1,
        "chunks before the walker are dropped"
    );
    // Asked out of order, it no longer knows: it never guesses.
    assert_eq!(skeleton.end_of(1, |_| {}), None);
}
