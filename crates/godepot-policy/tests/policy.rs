//! The policy file's contract: rule order, exceptions, the default, strict parsing.

use godepot_module::{ModulePath, Version};
use godepot_policy::{Action, Blocked, DecidedBy, Decision, Policy, RuleRef};

const ISSUE_EXAMPLE: &str = r#"default = "allow"            # or "deny"
[[deny]]
module = "example.com/evil/*"        # the go command's glob syntax for path prefixes
reason = "known malware"
[[deny]]
module = "corp.example/some/lib"
versions = ">= v1.2.0, < v1.4.2"     # comparators on semver, comma = and
reason = "CVE-2099-0001"
[[allow]]
module = "corp.example/some/lib"
versions = "= v1.3.0"                # an exception, with its own reason
reason = "patched internally"
"#;

fn m(s: &str) -> ModulePath {
    ModulePath::parse(s).unwrap()
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn policy(text: &str) -> Policy {
    Policy::parse("policy.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

/// "allow", "deny N" (the deciding rule's number) or "default-deny"/"default-allow".
fn outcome(p: &Policy, module: &str, version: &str) -> String {
    match p.decide(&m(module), &v(version)) {
        Decision::Allow(DecidedBy::Rule(r)) => format!("allow {}", r.index),
        Decision::Allow(DecidedBy::Default | DecidedBy::DefaultLicense) => "default-allow".into(),
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

/// Checks `(module, version, outcome)` rows against `p`.
fn check(p: &Policy, cases: &[(&str, &str, &str)]) {
    for &(module, version, expect) in cases {
        assert_eq!(outcome(p, module, version), expect, "{module}@{version}");
    }
}

#[test]
fn the_issue_example_first_match_decides() {
    check(
        &policy(ISSUE_EXAMPLE),
        &[
            ("example.com/evil/x", "v1.0.0", "deny 1"),
            ("example.com/evil/x/v2", "v2.0.0", "deny 1"),
            ("example.com/evil", "v1.0.0", "default-allow"),
            ("corp.example/some/lib", "v1.1.9", "default-allow"),
            ("corp.example/some/lib", "v1.2.0", "deny 2"),
            // The exception comes after the deny rule that covers it, so the deny wins:
            // first match decides, exactly as written.
            ("corp.example/some/lib", "v1.3.0", "deny 2"),
            ("corp.example/some/lib", "v1.4.2", "default-allow"),
            ("corp.example/some/library", "v1.3.0", "default-allow"),
        ],
    );
}

#[test]
fn an_exception_written_first_wins() {
    let p = policy(
        r#"
[[allow]]
module = "corp.example/some/lib"
versions = "= v1.3.0"
reason = "patched internally"
[[deny]]
module = "corp.example/some/lib"
versions = ">= v1.2.0, < v1.4.2"
reason = "CVE-2099-0001"
"#,
    );
    check(
        &p,
        &[
            ("corp.example/some/lib", "v1.3.0", "allow 1"),
            ("corp.example/some/lib", "v1.3.1", "deny 2"),
            ("corp.example/some/lib", "v1.5.0", "default-allow"),
        ],
    );
}

#[test]
fn interleaved_tables_keep_file_order_and_lines() {
    let text = "[[deny]]\nmodule = \"a.example\"\n\n[[allow]]\nmodule = \"b.example\"\n[[deny]]\nmodule = \"b.example\"\n[[allow]]\nmodule = \"a.example\"\n";
    let p = policy(text);
    let refs: Vec<RuleRef> = p.rules().iter().map(|r| r.at()).collect();
    assert_eq!(
        refs,
        [
            RuleRef {
                index: 1,
                action: Action::Deny,
                line: 1
            },
            RuleRef {
                index: 2,
                action: Action::Allow,
                line: 4
            },
            RuleRef {
                index: 3,
                action: Action::Deny,
                line: 6
            },
            RuleRef {
                index: 4,
                action: Action::Allow,
                line: 8
            },
        ]
    );
    check(
        &p,
        &[
            ("a.example/x", "v1.0.0", "deny 1"),
            ("b.example", "v1.0.0", "allow 2"),
        ],
    );
}

#[test]
fn default_deny_lets_in_only_what_an_allow_rule_matches() {
    let p = policy(
        r#"default = "deny"
[[allow]]
module = "corp.example/*"
[[allow]]
module = "example.com/good"
versions = ">= v1.0.0"
reason = "reviewed"
"#,
    );
    check(
        &p,
        &[
            ("corp.example/team/x", "v0.1.0", "allow 1"),
            ("corp.example", "v0.1.0", "default-deny"),
            ("example.com/good", "v1.2.0", "allow 2"),
            ("example.com/good", "v0.9.0", "default-deny"),
            ("example.com/other", "v1.2.0", "default-deny"),
        ],
    );
}

#[test]
fn no_policy_and_an_empty_file_allow_everything() {
    for p in [
        Policy::allow_all(),
        policy(""),
        policy("default = \"allow\"\n"),
    ] {
        check(&p, &[("example.com/x", "v1.0.0", "default-allow")]);
    }
}

#[test]
fn module_accepts_a_comma_separated_glob_list() {
    let p = policy("[[deny]]\nmodule = \"a.example, b.example/*\"\nreason = \"no\"\n");
    check(
        &p,
        &[
            ("a.example/x", "v1.0.0", "deny 1"),
            ("b.example/y", "v1.0.0", "deny 1"),
            ("b.example", "v1.0.0", "default-allow"),
        ],
    );
}

#[test]
fn the_403_text_names_version_rule_and_reason() {
    let cases = [
        (
            ISSUE_EXAMPLE,
            "corp.example/some/lib@v1.2.5",
            "corp.example/some/lib@v1.2.5 is blocked by policy (deny rule 2, line 5): CVE-2099-0001",
        ),
        (
            "default = \"deny\"\n",
            "example.com/x@v1.0.0",
            "example.com/x@v1.0.0 is blocked by policy (no allow rule matches; default = \"deny\")",
        ),
        (
            "[[deny]]\nmodule = \"example.com/x\"\n",
            "example.com/x@v1.0.0",
            "example.com/x@v1.0.0 is blocked by policy (deny rule 1, line 1)",
        ),
    ];
    for (text, target, expect) in cases {
        let (module, version) = target.split_once('@').unwrap();
        let Decision::Deny(blocked) = policy(text).decide(&m(module), &v(version)) else {
            panic!("{target} not blocked");
        };
        assert_eq!(blocked.to_string(), expect);
    }
    let at = RuleRef {
        index: 2,
        action: Action::Deny,
        line: 5,
    };
    assert_eq!(DecidedBy::Rule(at).to_string(), "deny rule 2, line 5");
    assert_eq!(DecidedBy::Default.to_string(), "default");
}

#[test]
fn filter_versions_and_latest_skip_blocked_versions() {
    let p = policy(ISSUE_EXAMPLE);
    let lib = m("corp.example/some/lib");
    let versions: Vec<Version> = ["v1.1.0", "v1.2.0", "v1.3.0", "v1.4.1", "v1.4.2-rc.1"]
        .into_iter()
        .map(v)
        .collect();
    let kept: Vec<&str> = p
        .filter_versions(&lib, &versions)
        .into_iter()
        .map(Version::as_str)
        .collect();
    assert_eq!(kept, ["v1.1.0"]);
    assert_eq!(
        p.latest(&lib, &versions).unwrap().map(Version::as_str),
        Some("v1.1.0")
    );

    let evil = m("example.com/evil/x");
    let blocked = p.latest(&evil, &versions).unwrap_err();
    assert_eq!(
        blocked.version.as_str(),
        "v1.4.1",
        "the release that would be latest"
    );
    assert_eq!(blocked.reason.as_deref(), Some("known malware"));
    assert_eq!(p.latest(&evil, &[]), Ok(None));
}

#[test]
fn display_is_an_equivalent_policy_file() {
    let p = policy(ISSUE_EXAMPLE);
    let shown = p.to_string();
    assert!(
        shown.starts_with("default = \"allow\"\n\n[[deny]] # rule 1, line 2\n"),
        "{shown}"
    );
    let again = Policy::parse("shown", &shown).unwrap();
    assert_eq!(again.rules().len(), 3);
    for (a, b) in p.rules().iter().zip(again.rules()) {
        assert_eq!(
            (a.module(), a.matchers(), a.reason()),
            (b.module(), b.matchers(), b.reason())
        );
        assert_eq!(a.at().action, b.at().action);
    }
}

#[test]
fn errors_name_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        // Unknown keys (a British spelling of `licenses` too).
        (
            "[[deny]]\nmodule = \"a.example\"\nlicences = [\"MIT\"]\n",
            "policy.toml:3:1: unknown field `licences`",
        ),
        (
            "defualt = \"deny\"\n",
            "policy.toml:1:1: unknown field `defualt`",
        ),
        (
            "[[block]]\nmodule = \"a.example\"\n",
            "policy.toml:1:3: unknown field `block`",
        ),
        (
            "default = \"maybe\"\n",
            "policy.toml:1:11: unknown variant `maybe`",
        ),
        (
            "[[deny]]\nreason = \"x\"\n",
            "policy.toml:1:1: a rule needs `module`, `vulnerable = true` or `licenses`",
        ),
        // Bad ranges point into the string.
        (
            "[[deny]]\nmodule = \"a.example\"\nversions = \">= v1.0.0, < 1.2\"\n",
            "policy.toml:3:26: \"1.2\" is not a semantic version",
        ),
        (
            "[[deny]]\nmodule = \"a.example\"\nversions = \"v1.0.0\"\n",
            "policy.toml:3:13: \"v1.0.0\" has no operator",
        ),
        (
            "[[deny]]\nmodule = \"a.example\"\nversions = ''\n",
            "policy.toml:3:13: empty comparator",
        ),
        (
            "[[deny]]\nmodule = \"a.example/[x\"\n",
            "policy.toml:2:10: \"a.example/[x\" is not a valid glob",
        ),
        (
            "[[deny]]\nmodule = \" , \"\n",
            "policy.toml:2:10: `module` is empty",
        ),
        (
            "[[deny]]\nmodule = \"a.example\"\nreason = \"two\\nlines\"\n",
            "policy.toml:3:10: `reason` must be one line",
        ),
        ("[[deny]\n", "policy.toml:1:"),
    ];
    for &(text, expect) in cases {
        let e = Policy::parse("policy.toml", text).unwrap_err();
        assert!(
            e.to_string().starts_with(expect),
            "{text:?}:\n got  {e}\n want {expect}"
        );
    }
}

#[test]
fn inline_tables_count_in_file_order_too() {
    let p = policy(
        "allow = [{ module = \"a.example\", versions = \"= v1.0.0\" }]\n\
         deny = [{ module = \"a.example\", reason = \"no\" }]\n",
    );
    check(
        &p,
        &[
            ("a.example", "v1.0.0", "allow 1"),
            ("a.example", "v1.0.1", "deny 2"),
        ],
    );
    let e = Policy::parse("p.toml", "[deny]\nmodule = \"a.example\"\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 1), "{e}");
}
