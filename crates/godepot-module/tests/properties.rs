//! Property tests: laws that must hold for all inputs, not just the vectors.

use std::cmp::Ordering;

use godepot_module::{
    ModulePath, Version, check_path, escape_path, escape_version, parse_go_mod, parse_go_sum,
    semver, unescape_path, unescape_version,
};
use proptest::prelude::*;

/// Valid-looking module paths with mixed case: a lower-case host, then elements.
fn module_path() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9]{0,8}\\.[a-z]{2,4}",
        prop::collection::vec("[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,8}[A-Za-z0-9_~-]", 0..4),
    )
        .prop_map(|(host, elems)| {
            std::iter::once(host)
                .chain(elems)
                .collect::<Vec<_>>()
                .join("/")
        })
        .prop_filter("must be a valid module path", |p| check_path(p).is_ok())
}

/// Strings that are often valid versions and often almost valid.
fn version_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "v(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){0,2}(-[0-9A-Za-z.-]{1,8})?(\\+[0-9A-Za-z.-]{1,8})?",
        "[v0-9.+-a-z]{0,12}",
    ]
}

proptest! {
    #[test]
    fn escape_round_trips(path in module_path()) {
        let escaped = escape_path(&path).unwrap();
        prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()));
        prop_assert_eq!(unescape_path(&escaped).unwrap(), path.clone());
        let parsed = ModulePath::parse(&path).unwrap();
        prop_assert_eq!(ModulePath::from_escaped(&parsed.escaped()).unwrap(), parsed);
    }

    #[test]
    fn version_escape_round_trips(v in version_like()) {
        if let Ok(e) = escape_version(&v) {
            prop_assert_eq!(unescape_version(&e).unwrap(), v);
        }
    }

    #[test]
    fn canonical_is_idempotent_and_equivalent(v in version_like()) {
        match semver::canonical(&v) {
            Some(c) => {
                prop_assert_eq!(semver::canonical(&c), Some(c.clone()));
                prop_assert_eq!(semver::compare(&v, &c), Ordering::Equal);
                prop_assert!(semver::is_valid(&v));
            }
            None => prop_assert!(!semver::is_valid(&v)),
        }
    }

    #[test]
    fn compare_is_a_total_order(a in version_like(), b in version_like(), c in version_like()) {
        let ab = semver::compare(&a, &b);
        prop_assert_eq!(semver::compare(&b, &a), ab.reverse());
        if ab != Ordering::Greater && semver::compare(&b, &c) != Ordering::Greater {
            prop_assert_ne!(semver::compare(&a, &c), Ordering::Greater);
        }
        let same_canonical = semver::canonical(&a).is_some() && semver::canonical(&a) == semver::canonical(&b);
        if same_canonical {
            prop_assert_eq!(ab, Ordering::Equal);
        }
    }

    #[test]
    fn version_ord_agrees_with_eq(a in version_like(), b in version_like()) {
        if let (Ok(x), Ok(y)) = (Version::parse(&a), Version::parse(&b)) {
            prop_assert_eq!(x.cmp(&y) == Ordering::Equal, x == y);
            prop_assert_eq!(x.cmp(&y), semver::compare(&a, &b).then_with(|| a.cmp(&b)));
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,64}", bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = semver::canonical(&s);
        let _ = semver::compare(&s, "v1.0.0");
        let _ = Version::parse(&s);
        let _ = ModulePath::parse(&s);
        let _ = ModulePath::parse_bytes(&bytes);
        let _ = unescape_path(&s);
        let _ = godepot_module::is_pseudo_version(&s);
        let _ = godepot_module::matches_glob_prefix(&s, "example.com/a/b");
        let _ = parse_go_mod(&bytes);
        let _ = parse_go_mod(s.as_bytes());
        let _ = parse_go_sum(&bytes);
    }
}
