//! The header rule and the strict parse, on hand-made and generated inputs.

use proptest::prelude::*;

use super::claims::*;
use super::*;

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn kind<T>(r: Result<T, AuthError>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

#[test]
fn header_rule() {
    fn h(value: &str) -> Result<&str, AuthError> {
        from_header([value.as_bytes()], "Bearer", 32)
    }
    assert_eq!(h("Bearer abc").ok(), Some("abc"));
    assert_eq!(h("bearer   abc").ok(), Some("abc"));
    assert_eq!(kind(h("")), Some(ErrorKind::MissingToken));
    assert_eq!(kind(h("   ")), Some(ErrorKind::MissingToken));
    assert_eq!(kind(h("Basic abc")), Some(ErrorKind::InvalidHeader));
    assert_eq!(kind(h("Bearer")), Some(ErrorKind::InvalidHeader));
    assert_eq!(kind(h("Bearer a b")), Some(ErrorKind::InvalidHeader));
    assert_eq!(kind(h("Bearerabc")), Some(ErrorKind::InvalidHeader));
    assert_eq!(kind(h("Bearer a\tb")), Some(ErrorKind::InvalidHeader));
    let at_the_cap = format!("Bearer {}", "a".repeat(32));
    assert_eq!(h(&at_the_cap).map(str::len).ok(), Some(32));
    let one_byte_too_many = format!("Bearer {}", "a".repeat(33));
    assert_eq!(kind(h(&one_byte_too_many)), Some(ErrorKind::TooLarge));
    assert_eq!(kind(from_header([], "Bearer", 32)), Some(ErrorKind::MissingToken));
    assert_eq!(
        kind(from_header([&b"Bearer a"[..], b"Bearer b"], "Bearer", 32)),
        Some(ErrorKind::InvalidHeader)
    );
    assert_eq!(
        kind(from_header([&[0xff, 0x20][..]], "Bearer", 32)),
        Some(ErrorKind::InvalidHeader)
    );
    assert_eq!(from_header([&b"raw.tok.en"[..]], "", 32).ok(), Some("raw.tok.en"));
    assert_eq!(
        kind(from_header([&b"Bearer raw"[..]], "", 32)),
        Some(ErrorKind::InvalidHeader)
    );
}

/// Bytes at the edges of the graphic range and of ASCII.
const EDGE_BYTES: [u8; 9] = [0x00, 0x09, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xa0, 0xff];
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// 0 to 39 graphic ASCII bytes, then up to two of them replaced (at any position) by any
/// byte, often one at the edges of the range: a third of the cases stay all graphic.
fn mostly_graphic() -> impl Strategy<Value = Vec<u8>> {
    let odd_byte = prop_oneof![prop::sample::select(EDGE_BYTES.to_vec()), any::<u8>()];
    let replacements = prop::collection::vec((any::<prop::sample::Index>(), odd_byte), 0..3);
    (prop::collection::vec(b'!'..=b'~', 0..40), replacements).prop_map(|(mut case, replacements)| {
        if !case.is_empty() {
            for (at, byte) in replacements {
                let at = at.index(case.len());
                case[at] = byte;
            }
        }
        case
    })
}

/// 0 to 11 bytes, mostly base64url characters, sometimes anything printable.
fn mostly_base64url() -> impl Strategy<Value = Vec<u8>> {
    let printable: Vec<u8> = (0u8..=255).filter(|b| b.is_ascii_graphic() || *b == b' ').collect();
    let byte = prop_oneof![
        7 => prop::sample::select(BASE64URL.to_vec()),
        1 => prop::sample::select(printable),
    ];
    prop::collection::vec(byte, 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_graphic_check_agrees_with_the_plain_one(case in mostly_graphic()) {
        prop_assert_eq!(all_ascii_graphic(&case), case.iter().all(u8::is_ascii_graphic), "{:?}", case);
    }

    #[test]
    fn signature_syntax_check_agrees_with_the_decoder(case in mostly_base64url()) {
        prop_assert_eq!(
            is_unpadded_base64url(&case),
            URL_SAFE_NO_PAD.decode(&case).is_ok(),
            "{:?}",
            String::from_utf8_lossy(&case)
        );
    }
}

#[test]
fn signature_syntax_check_on_the_shortest_cases() {
    for case in [&b""[..], b"=", b"AA==", b"A", b"AA", b"AB", b"AAA", b"AAB"] {
        assert_eq!(
            is_unpadded_base64url(case),
            URL_SAFE_NO_PAD.decode(case).is_ok(),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn the_split_reports_the_part_count_first() {
    let good = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(r#"{"exp":1}"#));
    let message = |t: &str| Token::decode(t).err().map(|e| e.message().to_owned());
    let three = Some("The token does not have exactly three dot-separated parts.".to_owned());
    let syntax = Some("A token part is not unpadded base64url.".to_owned());
    for t in ["", ".", "a", "a.b", "a.b.c.d", "...", "!.b.c.d", "a.!.c.d", "a.b..d"] {
        assert_eq!(message(t), three, "{t:?}");
    }
    // What a plain split into at most four parts says, for every short dotted string.
    let by_split = |t: &str| -> Option<String> {
        let parts: Vec<&str> = t.splitn(4, '.').collect();
        if parts.len() != 3 {
            return three.clone();
        }
        if parts.iter().any(|p| URL_SAFE_NO_PAD.decode(p).is_err()) {
            return syntax.clone();
        }
        None
    };
    let pieces = ["", ".", "A", "AA", "AAA", "!", "QQ"];
    for a in pieces {
        for b in pieces {
            for c in pieces {
                for d in pieces {
                    let t = format!("{a}{b}{c}{d}");
                    assert_eq!(message(&t), by_split(&t), "{t:?}");
                }
            }
        }
    }
    assert_eq!(message(&format!("{good}.x")), three);
    assert_eq!(message(&format!("x.{good}")), three);
    assert_eq!(message("!.b.c"), syntax);
    assert_eq!(message("a.!.c"), syntax);
    assert_eq!(message("a.b.!"), syntax);
    assert_eq!(message(&good), None);
    let t = Token::decode(&good).ok();
    assert_eq!(t.map(|t| t.signing_input.len()), good.rfind('.'));
    // Empty parts are three parts; they fail later, as JSON.
    assert!(Token::decode("..").is_ok());
}

#[test]
fn strict_parse() {
    let tok = |h: &str, p: &str| format!("{}.{}.c2ln", b64(h), b64(p));
    let parse = |t: &str| -> Result<(String, Option<f64>), AuthError> {
        let t = Token::decode(t)?;
        let alg = t.header()?.alg.as_deref().unwrap_or("none given").to_owned();
        let exp = t.claims()?.exp;
        Ok((alg, exp))
    };
    let good = tok(r#"{"alg":"RS256","kid":"k"}"#, r#"{"exp":1.5,"email_verified":"true"}"#);
    assert_eq!(parse(&good).ok(), Some(("RS256".to_owned(), Some(1.5))));
    let bad = [
        "a.b".to_owned(),
        format!("{good}.x"),
        format!("{}=", good),
        format!(" {good}"),
        tok(r#"{"alg":"RS256","alg":"RS256"}"#, r#"{"exp":1}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"x":1,"x":2}"#),
        tok(r#"{"alg":"RS256","kid":7}"#, r#"{"exp":1}"#),
        tok(r#"{"alg":"RS256","crit":["b64"]}"#, r#"{"exp":1}"#),
        tok(r#"[1]"#, r#"{"exp":1}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":"1"}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"iat":1}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"cognito:groups":"admin"}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"cognito:groups":[1]}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"aud":["a"]}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"sub":null}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1e999}"#),
        tok(r#"{"alg":"RS256"}"#, r#"{"exp":1} x"#),
    ];
    for t in bad {
        assert_eq!(kind(parse(&t)), Some(ErrorKind::Malformed), "{t}");
    }
}

/// A header of `n` distinct two-letter names (and `alg`), optionally with one repeated at
/// the end.
fn many_names(n: usize, repeat_one: bool) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut names: Vec<String> = (0..n)
        .map(|i| {
            let (a, b) = (letters[i / letters.len() % letters.len()], letters[i % letters.len()]);
            format!("\"{}{}\":0", a as char, b as char)
        })
        .collect();
    if repeat_one {
        names.push(names[n / 2].clone());
    }
    format!("{{\"alg\":\"RS256\",{}}}", names.join(","))
}

#[test]
fn duplicates_among_many_names_are_still_found() {
    let tok = |h: &str| format!("{}.{}.c2ln", b64(h), b64(r#"{"exp":1}"#));
    for n in [1, 7, 8, 9, 30, MAX_HEADER_MEMBERS - 2] {
        let distinct = tok(&many_names(n, false));
        let header = Token::decode(&distinct).and_then(|t| t.header().map(|h| h.alg.is_some()));
        assert_eq!(header.ok(), Some(true), "{n} distinct names");
        let repeated = tok(&many_names(n, true));
        let header = Token::decode(&repeated).and_then(|t| t.header().map(drop));
        assert_eq!(kind(header), Some(ErrorKind::Malformed), "{n} names, one twice");
    }
    // A header past the member cap is refused whatever its names.
    for n in [MAX_HEADER_MEMBERS, 1_700] {
        let header = Token::decode(&tok(&many_names(n, false))).and_then(|t| t.header().map(drop));
        assert_eq!(kind(header), Some(ErrorKind::Malformed), "{n} distinct names");
    }
    // The claims have no cap: among 1,700 distinct names (a hash set by then), one
    // repeated is still found, wherever it is.
    let members: Vec<String> = (0..1_700).map(|i| format!("\"c{i}\":0")).collect();
    let claims = |payload: &str| {
        let t = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(payload));
        kind(Token::decode(&t).and_then(|t| t.claims().map(drop)))
    };
    assert_eq!(claims(&format!("{{\"exp\":1,{}}}", members.join(","))), None);
    for repeated in ["c0", "c850", "c1699"] {
        let payload = format!("{{\"exp\":1,{},\"{repeated}\":1}}", members.join(","));
        assert_eq!(claims(&payload), Some(ErrorKind::Malformed), "{repeated}");
    }
}

#[test]
fn duplicates_are_refused_at_every_depth() {
    let claims = |p: &str| {
        let t = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(p));
        Token::decode(&t).and_then(|t| t.claims().map(drop))
    };
    let header = |h: &str| {
        let t = format!("{}.{}.c2ln", b64(h), b64(r#"{"exp":1}"#));
        Token::decode(&t).and_then(|t| t.header().map(drop))
    };
    for bad in [
        r#"{"exp":1,"x":{"role":"user","role":"admin"}}"#,
        r#"{"exp":1,"x":[1,{"a":{"b":1,"b":1}}]}"#,
        r#"{"exp":1,"x":{"a":1,"\u0061":2}}"#,
    ] {
        assert_eq!(kind(claims(bad)), Some(ErrorKind::Malformed), "{bad}");
    }
    assert_eq!(
        kind(header(r#"{"alg":"RS256","jwk":{"n":"a","n":"b"}}"#)),
        Some(ErrorKind::Malformed)
    );
    for good in [
        r#"{"exp":1,"x":{"role":"user","other":{"role":"admin"}}}"#,
        r#"{"exp":1,"x":[{"a":1},{"a":2}],"y":[[],{}],"z":null}"#,
    ] {
        assert_eq!(kind(claims(good)), None, "{good}");
    }
    assert_eq!(kind(header(r#"{"alg":"RS256","jwk":{"n":"a","e":"b"}}"#)), None);
}

#[test]
fn a_header_without_alg_parses_with_no_alg() {
    let t = format!("{}.{}.c2ln", b64(r#"{"kid":"k"}"#), b64(r#"{"exp":1}"#));
    let alg = Token::decode(&t).and_then(|t| t.header().map(|h| h.alg.is_none()));
    assert_eq!(alg.ok(), Some(true));
}
