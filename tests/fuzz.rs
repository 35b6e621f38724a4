//! No-panic fuzzing of the front end with proptest.
//!
//! Every generated input goes through `tilec::syntax::parse` and, once sema exists (see
//! [`RUN_SEMA`]), through `tilec::sema::lower_kernel` when it parses. The property: no panic,
//! whatever the input; every error is a diagnostic. Inputs:
//! * random byte strings (lossily made UTF-8);
//! * random sequences of the language's tokens, bare and inside a kernel body;
//! * the attention example of the language reference, mutated: spans deleted, duplicated and
//!   swapped, random tokens inserted.
//!
//! The default run (about 110,000 inputs) fits in well under a minute. For a long run, set the
//! number of cases per test:
//!
//! ```text
//! PROPTEST_CASES=1000000 cargo test -p tilec-tests --test fuzz --release
//! ```

use proptest::prelude::*;
use proptest::sample::{select, Index};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Flip to `true` when sema lands (its stub panics with `unimplemented!`): then every input
/// that parses is also lowered.
const RUN_SEMA: bool = true;

/// The attention example of the language reference (also a parser unit test).
const ATTENTION: &str = include_str!("../compiler/src/syntax/testdata/attention.tile");

/// Every token of the language, plus a few near misses the lexer must reject gracefully.
const VOCABULARY: &[&str] = &[
    "kernel",
    "const",
    "let",
    "mut",
    "for",
    "in",
    "range",
    "if",
    "else",
    "grid",
    "tune",
    "true",
    "false",
    "as",
    "f16",
    "bf16",
    "f32",
    "i32",
    "i64",
    "bool",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    "=",
    "+=",
    "-=",
    "*=",
    "/=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "&",
    "..",
    "..+",
    "->",
    "x",
    "S",
    "BLOCK_M",
    "load",
    "store",
    "tile",
    "inf",
    "0",
    "1",
    "64",
    "0x1F",
    "1_000",
    "1.5",
    "1e-3",
    "9223372036854775807",
    "99999999999999999999",
    "1.",
    "1e",
    "//",
    "/*",
    "*/",
    "\n",
    "'",
    "\"",
    "#",
    "ä",
    "tune {",
];

/// Cases per test: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the front end on `source`; returns a description of the panic if there was one.
fn front_end_panics(source: &str) -> Option<String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(module) = tilec::syntax::parse(source) {
            if RUN_SEMA {
                let _ = tilec::sema::check_module(&module, &Default::default());
                // Whatever lowers must also pass the IR verifier: an internal error is a bug.
                if let Err(diags) = tilec::driver::lower(
                    &tilec::driver::SourceFile::new("fuzz.tile", source),
                    None,
                    &Default::default(),
                ) {
                    if let Some(d) = diags.iter().find(|d| d.code == "tilec::internal_error") {
                        panic!("{}: {:?}", d.message, d.notes);
                    }
                }
            }
        }
    }));
    result.err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string())
    })
}

fn check(source: &str) -> Result<(), TestCaseError> {
    match front_end_panics(source) {
        None => Ok(()),
        Some(message) => Err(TestCaseError::fail(format!(
            "front end panicked ({message}) on input:\n{source:?}"
        ))),
    }
}

fn tokens(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(select(VOCABULARY), 0..max).prop_map(|t| t.join(" "))
}

/// One edit of a source text; positions are chosen relative to the text's length.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index, usize),
    Duplicate(Index, usize),
    Swap(Index, Index, usize),
    Insert(Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        (any::<Index>(), any::<Index>(), 1usize..20).prop_map(|(a, b, n)| Mutation::Swap(a, b, n)),
        (any::<Index>(), select(VOCABULARY)).prop_map(|(i, t)| Mutation::Insert(i, t)),
    ]
}

/// Applies `m` to `text` bytewise (the result is made UTF-8 again by the caller).
fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let len = text.len();
    if len == 0 {
        if let Mutation::Insert(_, t) = m {
            text.extend_from_slice(t.as_bytes());
        }
        return;
    }
    match m {
        Mutation::Delete(at, n) => {
            let start = at.index(len);
            let end = (start + n).min(len);
            text.drain(start..end);
        }
        Mutation::Duplicate(at, n) => {
            let start = at.index(len);
            let end = (start + n).min(len);
            let copy = text[start..end].to_vec();
            text.splice(end..end, copy);
        }
        Mutation::Swap(a, b, n) => {
            let (mut a, mut b) = (a.index(len), b.index(len));
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            let n = (*n).min(b - a).min(len - b);
            for k in 0..n {
                text.swap(a + k, b + k);
            }
        }
        Mutation::Insert(at, t) => {
            let at = at.index(len + 1);
            let mut token = b" ".to_vec();
            token.extend_from_slice(t.as_bytes());
            token.push(b' ');
            text.splice(at..at, token);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(30_000)))]

    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_tokens_do_not_panic(source in tokens(80)) {
        check(&source)?;
    }

    #[test]
    fn attention_mutations_do_not_panic(
        mutations in proptest::collection::vec(mutation(), 1..6)
    ) {
        let mut text = ATTENTION.as_bytes().to_vec();
        for m in &mutations {
            apply(&mut text, m);
        }
        check(&String::from_utf8_lossy(&text))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(20_000)))]

    /// Random statements inside a well-formed kernel reach deeper into the grammar.
    #[test]
    fn random_kernel_bodies_do_not_panic(body in tokens(60)) {
        check(&format!("kernel k(x: &mut f32[S], const N: i32 = 4) grid [1] {{ {body} }}"))?;
    }
}

/// The unmutated example parses: the mutation test starts from a valid program.
#[test]
fn attention_example_parses() {
    assert!(tilec::syntax::parse(ATTENTION).is_ok());
}
