//! Rules on facts: `vulnerable` (with `ids`/`aliases`), `licenses`, `default-license`;
//! first match still decides, and the refusal names ids, fixes and licences.

use godepot_module::{ModulePath, Version};
use godepot_policy::{Advisory, Blocked, DecidedBy, Decision, Facts, License, Policy};

fn m(s: &str) -> ModulePath {
    ModulePath::parse(s).unwrap()
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn policy(text: &str) -> Policy {
    Policy::parse("policy.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn adv(id: &str, aliases: &[&str], fixed: Option<&str>) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        summary: None,
        fixed: fixed.map(str::to_owned),
    }
}

/// Facts from a compact spelling: advisory ids (aliases `CVE-<id's number>`), and a
/// licence: "-" pending, "?" unknown, else comma-separated SPDX ids.
fn facts(ids: &[&str], license: &str) -> Facts {
    let advisories = ids
        .iter()
        .map(|id| {
            let number = id.rsplit('-').next().unwrap();
            adv(id, &[&format!("CVE-2099-{number}")], Some("v1.9.0"))
        })
        .collect();
    let license = match license {
        "-" => License::Pending,
        "?" => License::Unknown,
        ids => License::Identified(ids.split(',').map(str::to_owned).collect()),
    };
    Facts {
        advisories,
        license,
    }
}

fn outcome(p: &Policy, module: &str, f: &Facts) -> String {
    match p.decide_with(&m(module), &v("v1.0.0"), f) {
        Decision::Allow(DecidedBy::Rule(r)) => format!("allow {}", r.index),
        Decision::Allow(_) => "default-allow".into(),
        Decision::Deny(Blocked {
            by: DecidedBy::Rule(r),
            ..
        }) => format!("deny {}", r.index),
        Decision::Deny(Blocked {
            by: DecidedBy::Default,
            ..
        }) => "default-deny".into(),
        Decision::Deny(Blocked {
            by: DecidedBy::DefaultLicense,
            ..
        }) => "default-license-deny".into(),
    }
}

/// `(module, advisory ids, licence, outcome)` rows.
fn check(p: &Policy, cases: &[(&str, &[&str], &str, &str)]) {
    for &(module, ids, license, expect) in cases {
        let f = facts(ids, license);
        assert_eq!(outcome(p, module, &f), expect, "{module} {ids:?} {license}");
    }
}

#[test]
fn vulnerable_rules_and_an_exception_for_one_id() {
    let p = policy(
        r#"
[[allow]]
vulnerable = true
ids = ["GO-2099-0001"]
reason = "not reachable in our code"
[[deny]]
vulnerable = true
reason = "known vulnerable"
[[deny]]
module = "example.com/only-this"
vulnerable = true
aliases = ["CVE-2099-0007"]
"#,
    );
    check(
        &p,
        &[
            ("example.com/a", &[], "-", "default-allow"),
            ("example.com/a", &["GO-2099-0001"], "-", "allow 1"),
            // The exception names one of two advisories: it does not match, the deny does.
            (
                "example.com/a",
                &["GO-2099-0001", "GO-2099-0002"],
                "-",
                "deny 2",
            ),
            ("example.com/a", &["GO-2099-0002"], "-", "deny 2"),
        ],
    );
    let only = policy(
        "[[deny]]\nmodule = \"example.com/only-this\"\nvulnerable = true\naliases = [\"CVE-2099-0007\"]\n\
         [[deny]]\nids = [\"GO-2099-0003\"]\nvulnerable = true\n",
    );
    check(
        &only,
        &[
            ("example.com/only-this", &["GO-2099-0007"], "-", "deny 1"),
            (
                "example.com/only-this/sub",
                &["GO-2099-0007"],
                "-",
                "deny 1",
            ),
            (
                "example.com/only-this",
                &["GO-2099-0008"],
                "-",
                "default-allow",
            ),
            ("example.com/other", &["GO-2099-0007"], "-", "default-allow"),
            (
                "example.com/other",
                &["GO-2099-0008", "GO-2099-0003"],
                "-",
                "deny 2",
            ),
        ],
    );
}

#[test]
fn licence_rules_deny_any_allow_all_and_default_license() {
    let p = policy(
        r#"default-license = "deny"
[[deny]]
licenses = ["AGPL-3.0-only", "AGPL-3.0-or-later"]
reason = "network copyleft"
[[allow]]
module = "corp.example/*"
[[allow]]
licenses = ["MIT", "Apache-2.0", "BSD-3-Clause"]
[[deny]]
licenses = ["GPL-3.0-only"]
"#,
    );
    check(
        &p,
        &[
            ("example.com/a", &[], "AGPL-3.0-only", "deny 1"),
            // Deny rules match when any licence is named, even beside an allowed one.
            ("example.com/a", &[], "AGPL-3.0-only,MIT", "deny 1"),
            ("example.com/a", &[], "MIT", "allow 3"),
            ("example.com/a", &[], "Apache-2.0,MIT", "allow 3"),
            // Allow rules only when every licence is named.
            ("example.com/a", &[], "GPL-3.0-only,MIT", "deny 4"),
            ("example.com/a", &[], "MPL-2.0", "default-allow"),
            // Unknown: no licence rule matches; default-license decides...
            ("example.com/a", &[], "?", "default-license-deny"),
            // ... unless a rule without licences matches first.
            ("corp.example/x", &[], "?", "allow 2"),
            // Not known yet (zip not held): as the licence that would let it in (an allow
            // rule with licences matches, a deny rule does not), never default-license.
            ("example.com/a", &[], "-", "allow 3"),
        ],
    );
    assert!(p.uses_license() && !p.uses_advisories());
    assert!(policy("default-license = \"deny\"\n").uses_license());
    assert!(!policy("default-license = \"allow\"\n").uses_license());
    assert!(policy("[[deny]]\nvulnerable = true\n").uses_advisories());
    assert!(Policy::allow_all().is_allow_all());
    assert!(!policy("default-license = \"deny\"\n").is_allow_all());
}

#[test]
fn decide_without_facts_refuses_only_what_no_licence_could_admit() {
    let p = policy(
        "default-license = \"deny\"\n[[deny]]\nvulnerable = true\n[[deny]]\nlicenses = [\"MIT\"]\n",
    );
    assert!(p.decide(&m("example.com/a"), &v("v1.0.0")).is_allowed());
    // default = "deny" with a licence allow-list: let in until the zip says otherwise.
    let p = policy("default = \"deny\"\n[[allow]]\nlicenses = [\"MIT\"]\n");
    let pending = Facts::default();
    assert!(
        p.decide_with(&m("example.com/a"), &v("v1.0.0"), &pending)
            .is_allowed()
    );
    let gpl = facts(&[], "GPL-3.0-only");
    assert!(
        !p.decide_with(&m("example.com/a"), &v("v1.0.0"), &gpl)
            .is_allowed()
    );
}

#[test]
fn the_403_text_names_the_rule_ids_fixes_and_licences() {
    let p = policy(
        "[[deny]]\nvulnerable = true\nreason = \"upgrade\"\n[[deny]]\nlicenses = [\"AGPL-3.0-only\"]\n",
    );
    let f = Facts {
        advisories: vec![
            adv("GO-2099-0001", &["CVE-2099-1111"], Some("v1.0.1")),
            adv("GO-2099-0002", &[], None),
        ],
        license: License::Pending,
    };
    let Decision::Deny(blocked) = p.decide_with(&m("example.com/a"), &v("v1.0.0"), &f) else {
        panic!("not blocked");
    };
    assert_eq!(
        blocked.to_string(),
        "example.com/a@v1.0.0 is blocked by policy (deny rule 1, line 1): affected by \
         GO-2099-0001 (fixed in v1.0.1), GO-2099-0002 (no fixed version); upgrade"
    );
    assert_eq!(blocked.advisories.len(), 2);
    let f = Facts {
        advisories: vec![],
        license: License::Identified(vec!["AGPL-3.0-only".into(), "MIT".into()]),
    };
    let Decision::Deny(blocked) = p.decide_with(&m("example.com/a"), &v("v1.0.0"), &f) else {
        panic!("not blocked");
    };
    assert_eq!(
        blocked.to_string(),
        "example.com/a@v1.0.0 is blocked by policy (deny rule 2, line 4): licence AGPL-3.0-only"
    );
    let p = policy("default-license = \"deny\"\n");
    let f = facts(&[], "?");
    let Decision::Deny(blocked) = p.decide_with(&m("example.com/a"), &v("v1.0.0"), &f) else {
        panic!("not blocked");
    };
    assert_eq!(
        blocked.to_string(),
        "example.com/a@v1.0.0 is blocked by policy (licence unknown, no rule matches; \
         default-license = \"deny\")"
    );
    assert_eq!(DecidedBy::DefaultLicense.to_string(), "default-license");
}

#[test]
fn latest_with_skips_affected_versions() {
    let p = policy("[[deny]]\nvulnerable = true\n");
    let a = m("example.com/a");
    let versions: Vec<Version> = ["v1.0.0", "v1.1.0", "v1.2.0"].into_iter().map(v).collect();
    let affected = |ver: &Version| {
        if ver.as_str() == "v1.2.0" || ver.as_str() == "v1.0.0" {
            facts(&["GO-2099-0001"], "-")
        } else {
            Facts::default()
        }
    };
    let kept: Vec<&str> = (p.filter_versions_with(&a, &versions, affected).into_iter())
        .map(Version::as_str)
        .collect();
    assert_eq!(kept, ["v1.1.0"]);
    let latest = p.latest_with(&a, &versions, affected).unwrap();
    assert_eq!(latest.map(Version::as_str), Some("v1.1.0"));
    let all = |_: &Version| facts(&["GO-2099-0001"], "-");
    let blocked = p.latest_with(&a, &versions, all).unwrap_err();
    assert_eq!(blocked.version.as_str(), "v1.2.0");
}

#[test]
fn display_round_trips_the_new_keys() {
    let text = "default-license = \"deny\"\n[[deny]]\nmodule = \"a.example\"\nvulnerable = true\n\
                ids = [\"GO-2099-0001\"]\naliases = [\"CVE-2099-0001\"]\n[[allow]]\nlicenses = [\"MIT\", \"Apache-2.0\"]\n";
    let p = policy(text);
    let shown = p.to_string();
    assert!(shown.contains("default-license = \"deny\"\n"), "{shown}");
    assert!(shown.contains("ids = [\"GO-2099-0001\"]\n"), "{shown}");
    assert!(
        shown.contains("licenses = [\"MIT\", \"Apache-2.0\"]\n"),
        "{shown}"
    );
    let again = policy(&shown);
    assert_eq!(again.default_license(), p.default_license());
    for (a, b) in p.rules().iter().zip(again.rules()) {
        assert_eq!(a.matchers(), b.matchers());
    }
}

#[test]
fn errors_on_the_new_keys_name_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "[[deny]]\nvulnerable = false\n",
            "policy.toml:2:14: `vulnerable = false` matches nothing",
        ),
        (
            "[[deny]]\nmodule = \"a.example\"\nids = [\"GO-2099-0001\"]\n",
            "policy.toml:3:7: `ids` needs `vulnerable = true`",
        ),
        (
            "[[deny]]\nvulnerable = true\naliases = []\n",
            "policy.toml:3:11: `aliases` is empty",
        ),
        (
            "[[deny]]\nvulnerable = true\nids = [\"GO-1\", \"two words\"]\n",
            "policy.toml:3:16: \"two words\" is not an advisory id",
        ),
        (
            "[[deny]]\nlicenses = [\"MIT\", \"agpl-3.0-only\"]\n",
            "policy.toml:2:20: \"agpl-3.0-only\" is not an SPDX licence identifier",
        ),
        (
            "[[deny]]\nlicenses = []\n",
            "policy.toml:2:12: `licenses` is empty",
        ),
        (
            "[[deny]]\nvulnerable = \"yes\"\n",
            "policy.toml:2:14: invalid type",
        ),
        (
            "default-license = \"unknown\"\n",
            "policy.toml:1:19: unknown variant `unknown`",
        ),
        (
            "[[allow]]\nreason = \"everything\"\n",
            "policy.toml:1:1: a rule needs",
        ),
    ];
    for &(text, expect) in cases {
        let e = Policy::parse("policy.toml", text).unwrap_err();
        assert!(
            e.to_string().starts_with(expect),
            "{text:?}:\n got  {e}\n want {expect}"
        );
    }
}
