//! `serve --tls-cert --tls-key`, end to end: the go command over HTTPS trusting a test CA
//! (`SSL_CERT_FILE`), authenticating with a token from `.netrc` (`GOAUTH=netrc`); HTTP/2 by
//! ALPN; the certificate replaced on SIGHUP. The test CA is made with `openssl` (required:
//! the test fails without it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Rig, godepot_cli};
use godepot_testkit::{GoEnv, GodepotProcess};

/// Runs `openssl <args>` in `dir`; panics with its output on failure.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl is required for the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA named `name` and a certificate it signs for 127.0.0.1: `<name>-ca.pem`,
/// `<name>.pem`, `<name>.key` in `dir`.
fn make_certs(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key) = (format!("{name}-ca.pem"), format!("{name}-ca.key"));
    let (cert, key, csr) = (
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    let subj = format!("/CN=godepot test CA {name}");
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&[
        "-keyout", &ca_key, "-out", &ca, "-days", "2", "-subj", &subj,
    ]);
    args.extend_from_slice(&["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend_from_slice(&["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &args);
    let mut args = vec!["req"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &args);
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    (dir.join(ca), dir.join(cert), dir.join(key))
}

fn https(gd: &GodepotProcess) -> String {
    format!("https://{}", gd.addr())
}

/// What `openssl s_client` reports of a handshake with `gd` (stdout and stderr), trusting
/// `ca`, offering `alpn`; panics when the certificate does not verify.
fn handshake(gd: &GodepotProcess, ca: &Path, alpn: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            gd.addr(),
            "-CAfile",
            ca.to_str().unwrap(),
        ])
        .args(["-alpn", alpn, "-verify_return_error"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl is required for the TLS tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "handshake failed:\n{text}");
    text
}

fn token(data: &Path, name: &str) -> String {
    let out = godepot_cli(&["token", "add", name, "--data-dir", data.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout.lines().last().unwrap().to_string()
}

#[test]
fn go_over_https_authenticates_from_netrc() {
    let rig = Rig::small();
    let dir = rig.tmp.path();
    let (ca, cert, key) = make_certs(dir, "one");
    let secret = token(&rig.data, "dev");
    let gd = rig.godepot(&[
        "--require-auth",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();

    // .netrc (any login; the token is the password).
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine {} login dev password {secret}\n", gd.addr()),
    )
    .unwrap();
    let mut go = GoEnv::new(&https(&gd));
    go.set_env("SSL_CERT_FILE", ca.to_str().unwrap());
    go.set_env("NETRC", netrc.to_str().unwrap());
    go.set_env("GOAUTH", "netrc");
    go.ok(&work, ["mod", "download", "-json", "example.com/f@v1.0.0"]);
    // The machine is host:port, as the go command matches it.

    // Without credentials: refused.
    let mut go = GoEnv::new(&https(&gd));
    go.set_env("SSL_CERT_FILE", ca.to_str().unwrap());
    go.set_env("NETRC", "/dev/null");
    let out = go.run(&work, ["mod", "download", "example.com/Upper/Mod@v1.0.0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401 Unauthorized"));
}

#[test]
fn http2_by_alpn_and_the_certificate_is_replaced_on_sighup() {
    let rig = Rig::small();
    let dir = rig.tmp.path();
    let (ca1, cert, key) = make_certs(dir, "one");
    let (ca2, cert2, key2) = make_certs(dir, "two");
    let live_cert = dir.join("live.pem");
    let live_key = dir.join("live.key");
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let gd = rig.godepot(&[
        "--tls-cert",
        live_cert.to_str().unwrap(),
        "--tls-key",
        live_key.to_str().unwrap(),
    ]);
    let first = handshake(&gd, &ca1, "h2");
    assert!(first.contains("ALPN protocol: h2"), "{first}");

    let mut go = GoEnv::new(&https(&gd));
    go.set_env("SSL_CERT_FILE", ca1.to_str().unwrap());
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    go.ok(&work, ["mod", "download", "-json", "example.com/f@v1.0.0"]);

    std::fs::copy(&cert2, &live_cert).unwrap();
    std::fs::copy(&key2, &live_key).unwrap();
    let pid = gd.pid().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let reloaded = gd.wait_for_json_log(Duration::from_secs(30), |r| {
        r.to_string().contains("TLS certificate reloaded")
    });
    assert!(reloaded.is_some(), "{}", gd.logs().join("\n"));
    let second = handshake(&gd, &ca2, "http/1.1");
    assert!(second.contains("ALPN protocol: http/1.1"), "{second}");
    let mut go = GoEnv::new(&https(&gd));
    go.set_env("SSL_CERT_FILE", ca2.to_str().unwrap());
    go.ok(&work, ["mod", "download", "-json", "example.com/f@v1.1.0"]);
}
