//! Property tests: the range parser and evaluator agree with Go's version order
//! (`godepot_module::semver::compare`), whatever the spelling.

use std::cmp::Ordering;

use godepot_module::{Version, semver};
use godepot_policy::VersionRange;
use proptest::prelude::*;

const OPS: [&str; 6] = ["=", "!=", "<", "<=", ">", ">="];

/// The meaning of each operator, written independently of the crate's own table.
fn expected(op: &str, ordering: Ordering) -> bool {
    match op {
        "=" => ordering == Ordering::Equal,
        "!=" => ordering != Ordering::Equal,
        "<" => ordering == Ordering::Less,
        "<=" => ordering != Ordering::Greater,
        ">" => ordering == Ordering::Greater,
        ">=" => ordering != Ordering::Less,
        _ => unreachable!(),
    }
}

/// Canonical versions on a small grid, so that equal and neighbouring versions are
/// common: releases, pre-releases, pseudo-versions and `+incompatible`.
fn version() -> impl Strategy<Value = Version> {
    let suffix = prop::sample::select(vec![
        "",
        "-rc.1",
        "-rc.2",
        "-alpha",
        "-0.20200101000000-abcdefabcdef",
        "+incompatible",
    ]);
    (0u8..3, 0u8..3, 0u8..3, suffix).prop_map(|(a, b, c, s)| {
        let major = if s == "+incompatible" { a + 2 } else { a };
        Version::parse(&format!("v{major}.{b}.{c}{s}")).unwrap()
    })
}

/// An operand as a policy author may write it: canonical, or a shorthand.
fn operand() -> impl Strategy<Value = String> {
    (
        0u8..3,
        0u8..3,
        0u8..3,
        0u8..3,
        prop::sample::select(vec!["", "-rc.1", "-alpha"]),
    )
        .prop_map(|(a, b, c, form, pre)| match form {
            0 => format!("v{a}"),
            1 => format!("v{a}.{b}"),
            _ => format!("v{a}.{b}.{c}{pre}"),
        })
}

fn comparator() -> impl Strategy<Value = (String, String, String)> {
    (
        prop::sample::select(OPS.to_vec()),
        operand(),
        prop::sample::select(vec!["", " ", "  "]),
    )
        .prop_map(|(op, operand, ws)| (op.to_owned(), operand, ws.to_owned()))
}

proptest! {
    #[test]
    fn one_comparator_follows_semver_order((op, operand, ws) in comparator(), v in version()) {
        let range = VersionRange::parse(&format!("{ws}{op}{ws}{operand}{ws}")).unwrap();
        let want = expected(&op, semver::compare(v.as_str(), &operand));
        prop_assert_eq!(range.matches(&v), want);
    }

    #[test]
    fn comma_is_and(a in comparator(), b in comparator(), c in comparator(), v in version()) {
        let text = format!("{}{}, {}{} ,{}{}", a.0, a.1, b.0, b.1, c.0, c.1);
        let range = VersionRange::parse(&text).unwrap();
        let want = [&a, &b, &c]
            .iter()
            .all(|(op, operand, _)| expected(op, semver::compare(v.as_str(), operand)));
        prop_assert_eq!(range.matches(&v), want);
    }

    #[test]
    fn ge_and_lt_split_every_version_in_two(operand in operand(), v in version()) {
        let ge = VersionRange::parse(&format!(">= {operand}")).unwrap();
        let lt = VersionRange::parse(&format!("< {operand}")).unwrap();
        prop_assert!(ge.matches(&v) != lt.matches(&v));
    }

    #[test]
    fn agrees_with_the_order_of_version_values(a in version(), b in version()) {
        // `< b` holds for `a` exactly when `a` sorts before `b` (the order of
        // `go list -m -versions`) and is not `b` with other build metadata.
        let lt = VersionRange::parse(&format!("< {}", semver::canonical(b.as_str()).unwrap())).unwrap();
        let same_base = semver::compare(a.as_str(), b.as_str()).is_eq();
        prop_assert_eq!(lt.matches(&a), a < b && !same_base);
    }

    #[test]
    fn display_round_trips(a in comparator(), b in comparator()) {
        let range = VersionRange::parse(&format!("{}{},{}{}", a.0, a.1, b.0, b.1)).unwrap();
        prop_assert_eq!(VersionRange::parse(&range.to_string()).unwrap(), range);
    }

    #[test]
    fn any_text_parses_or_errors_inside_it(text in "[ ,=<>!~v0-9.a-z+-]{0,24}") {
        if let Err(e) = VersionRange::parse(&text) {
            prop_assert!(e.offset <= text.len(), "{text:?}: offset {} {e}", e.offset);
        }
    }
}
