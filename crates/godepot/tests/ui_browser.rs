//! The web UI as a browser renders it: headless Chromium (Debian `chromium`) loads the home
//! page, a search that finds a module, and a module page listing its versions, from a real
//! server on loopback. Screenshots are kept under `target/ui-screenshots/` (a CI artifact).
//! A go.mod comment holding a `<script>` tag is shown as text, and nothing on the pages
//! points anywhere but this server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Rig, get};
use godepot_testkit::UniverseBuilder;

const HOSTILE: &str = "example.com/hostile";
const HOSTILE_GO_MOD: &str =
    "module example.com/hostile\n\n// <script>document.title='owned'</script> <img src=x>\n";

/// The browser, or a loud failure: these tests never skip.
fn chromium() -> &'static str {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "chromium is needed by the UI tests (Debian package `chromium`; .ci/run installs it)"
    );
    "chromium"
}

/// `target/ui-screenshots/`, beside the test binary's `target/<profile>/deps/`.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url`: the serialized DOM after load, and a screenshot.
fn render(profile: &Path, url: &str, screenshot: &str) -> String {
    let browser = chromium();
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1280,1000",
    ];
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let dom = Command::new(browser)
        .args(common)
        .arg(&profile_arg)
        .args(["--dump-dom", url])
        .output()
        .expect("run chromium");
    assert!(
        dom.status.success(),
        "chromium --dump-dom {url}: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let path = screenshot_dir().join(screenshot);
    let _ = std::fs::remove_file(&path);
    let shot = Command::new(browser)
        .args(common)
        .arg(&profile_arg)
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        shot.status.success() && path.is_file(),
        "no screenshot of {url}: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    String::from_utf8(dom.stdout).unwrap()
}

/// Every URL the DOM names (`href`, `src`, `action`) is a path on this server.
fn assert_nothing_external(dom: &str, page: &str) {
    for attr in ["href=\"", "src=\"", "action=\"", "url("] {
        for (at, _) in dom.match_indices(attr) {
            let value = &dom[at + attr.len()..];
            assert!(
                value.starts_with('/'),
                "{page}: {attr}{} points elsewhere",
                &value[..value.len().min(60)]
            );
        }
    }
    for (at, _) in dom.match_indices("//") {
        let before = &dom[at.saturating_sub(8)..at];
        let after = &dom[at..(at + 14).min(dom.len())];
        if before.ends_with("http:") || before.ends_with("https:") {
            assert!(
                after.starts_with("//127.0.0.1"),
                "{page}: an external URL {after}"
            );
        }
    }
}

#[test]
fn chromium_renders_the_home_page_a_search_and_a_module_page() {
    let tmp = tempfile::tempdir().unwrap();
    let universe = UniverseBuilder::new(tmp.path().join("u"))
        .module(HOSTILE)
        .version("v1.0.0")
        .go_mod(HOSTILE_GO_MOD)
        .file("h.go", "package hostile\n")
        .version("v1.1.0")
        .go_mod(HOSTILE_GO_MOD)
        .file("h.go", "package hostile\n\nconst V = 2\n")
        .build();
    let rig = Rig::from_universe(tmp, universe);
    let gd = rig.godepot(&[]);
    for version in ["v1.0.0", "v1.1.0"] {
        for ext in ["info", "mod", "zip"] {
            let r = get(&gd, &format!("/{HOSTILE}/@v/{version}.{ext}"));
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    let profile = rig.tmp.path().join("chromium-profile");
    let url = gd.url();

    let home = render(&profile, &format!("{url}/"), "home.png");
    assert!(home.contains("godepot module proxy"), "{home}");
    assert!(home.contains(&format!("GOPROXY={url}")), "{home}");
    assert!(home.contains("1 module, 2 versions"), "{home}");
    assert_nothing_external(&home, "home");

    let search = render(&profile, &format!("{url}/search?q=HOSTILE"), "search.png");
    assert!(
        search.contains(&format!("href=\"/module/{HOSTILE}\"")),
        "{search}"
    );
    assert_nothing_external(&search, "search");

    let module = render(&profile, &format!("{url}/module/{HOSTILE}"), "module.png");
    let (newer, older) = (
        module.find("v1.1.0").unwrap(),
        module.find(">v1.0.0<").unwrap(),
    );
    assert!(newer < older, "versions newest first");
    assert!(module.contains(&format!("go get {HOSTILE}@v1.1.0")));
    assert!(
        module.contains("&lt;script&gt;document.title='owned'&lt;/script&gt; &lt;img src=x&gt;"),
        "{module}"
    );
    assert!(
        !module.contains("<script"),
        "a script element in the DOM: {module}"
    );
    assert!(
        !module.contains("owned</title>"),
        "the script ran: {module}"
    );
    assert_nothing_external(&module, "module");
}

#[test]
fn recent_upstream_failures_are_shown_on_the_home_page_and_in_the_api() {
    let rig = Rig::small();
    rig.upstream.set_fault(
        "example.com/f/@v/v1.1.0.info",
        godepot_testkit::Fault::Status(500),
    );
    let gd = rig.godepot(&[]);
    let r = get(&gd, "/example.com/f/@v/v1.1.0.info");
    assert_eq!(r.status, 502, "{}", r.text());
    let r = get(&gd, "/api/stats");
    let stats: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let failure = &stats["recent_failures"][0];
    assert_eq!(failure["status"], 502, "{stats}");
    assert_eq!(failure["path"], "/example.com/f/@v/v1.1.0.info");
    assert!(
        failure["message"].as_str().unwrap().contains("500"),
        "{stats}"
    );
    let page = godepot_testkit::http::try_http_request(
        "GET",
        &format!("{}/", gd.url()),
        &[("Accept", "text/html")],
    )
    .unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("/example.com/f/@v/v1.1.0.info"),
        "{}",
        page.text()
    );
}
