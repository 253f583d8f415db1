//! Property tests over whole policies: parsing never panics, and the policy's
//! `Display` (what "show the policy" answers) decides exactly as the original.

use godepot_module::{ModulePath, Version};
use godepot_policy::{Decision, Policy};
use proptest::prelude::*;

const MODULES: [&str; 4] = [
    "corp.example/lib",
    "corp.example/lib/v2",
    "example.com/evil/x",
    "example.com/good",
];

fn rule() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec!["allow", "deny"]);
    let module = prop::sample::select(vec![
        "corp.example/*",
        "corp.example/lib",
        "example.com/evil/*",
        "example.com/*,corp.example/lib/v2",
        "*.example",
    ]);
    let versions = prop::sample::select(vec![
        None,
        Some(">= v1.2.0, < v1.4.2"),
        Some("= v1.3.0"),
        Some("!= v2.0.0"),
        Some("< v1"),
        Some("> v1.0.0-rc.1, <= v2.1"),
    ]);
    let reason = prop::sample::select(vec![None, Some("CVE-2099-0001"), Some("say \"no\" \\ now")]);
    (kind, module, versions, reason).prop_map(|(kind, module, versions, reason)| {
        let mut table = format!("[[{kind}]]\nmodule = '{module}'\n");
        if let Some(v) = versions {
            table += &format!("versions = \"{v}\"\n");
        }
        if let Some(r) = reason {
            table += &format!("reason = '''{r}'''\n");
        }
        table
    })
}

fn policy_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "default = \"allow\"\n", "default = \"deny\"\n"]),
        prop::collection::vec(rule(), 0..6),
    )
        .prop_map(|(default, rules)| format!("{default}{}", rules.join("\n")))
}

fn target() -> impl Strategy<Value = (ModulePath, Version)> {
    (
        prop::sample::select(MODULES.to_vec()),
        0u8..3,
        0u8..5,
        prop::sample::select(vec!["", "-rc.1"]),
    )
        .prop_map(|(m, major, minor, pre)| {
            let major = if m.ends_with("/v2") { 2 } else { major.min(1) };
            let module = ModulePath::parse(m).unwrap();
            let version =
                Version::for_module(&module, &format!("v{major}.{minor}.0{pre}")).unwrap();
            (module, version)
        })
}

/// A decision without the rule's line (which the normal form moves).
fn summary(d: Decision) -> (bool, Option<usize>, Option<String>) {
    match d {
        Decision::Allow(by) => (true, index(by), None),
        Decision::Deny(b) => (false, index(b.by), b.reason),
    }
}

fn index(by: godepot_policy::DecidedBy) -> Option<usize> {
    match by {
        godepot_policy::DecidedBy::Rule(r) => Some(r.index),
        godepot_policy::DecidedBy::Default => None,
        godepot_policy::DecidedBy::DefaultLicense => None,
    }
}

proptest! {
    #[test]
    fn display_decides_as_the_original(text in policy_text(), targets in prop::collection::vec(target(), 1..12)) {
        let p = Policy::parse("p.toml", &text).unwrap();
        let shown = p.to_string();
        let again = Policy::parse("shown", &shown).unwrap_or_else(|e| panic!("{e}\n{shown}"));
        for (m, v) in &targets {
            prop_assert_eq!(summary(p.decide(m, v)), summary(again.decide(m, v)), "{}@{}\n{}", m, v, shown);
        }
    }

    #[test]
    fn any_text_parses_or_errors_with_a_position(text in "\\PC{0,80}") {
        if let Err(e) = Policy::parse("p.toml", &text) {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(e.line <= text.lines().count().max(1) + 1, "{}", e);
        }
    }

    #[test]
    fn near_miss_policies_error_with_a_position(text in policy_text(), at in any::<prop::sample::Index>(), junk in "[\\[\\]=\"',.<>!~ a-z\\n]{1,4}") {
        let i = at.index(text.len() + 1);
        let i = (0..=i).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let broken = format!("{}{junk}{}", &text[..i], &text[i..]);
        if let Err(e) = Policy::parse("p.toml", &broken) {
            prop_assert!(e.line >= 1 && e.line <= broken.lines().count() + 1, "{}", e);
        }
    }
}
