//! Detection over real licence texts in module zips.

use std::io::{Cursor, Write};

use godepot_license::{THRESHOLD, detect_text, detect_zip};
use godepot_policy::License;
use godepot_testkit::licenses::{ISC, MIT};

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, text) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const ROOT: &str = "example.com/m@v1.0.0/";

#[test]
fn texts_are_identified_with_a_confidence() {
    let mit = detect_text("LICENSE", MIT);
    assert_eq!(mit.licenses, ["MIT"], "{mit:?}");
    assert!(mit.confidence >= THRESHOLD, "{mit:?}");
    let prose = detect_text(
        "LICENSE",
        "All rights reserved. Ask us before using this.\n",
    );
    assert!(prose.licenses.is_empty(), "{prose:?}");
    assert!(prose.confidence < THRESHOLD, "{prose:?}");
}

#[test]
fn a_zip_s_root_licence_files_decide() {
    let cases: &[(&[(&str, &str)], License)] = &[
        (
            &[
                ("example.com/m@v1.0.0/go.mod", "module example.com/m\n"),
                ("example.com/m@v1.0.0/LICENSE", MIT),
            ],
            License::Identified(vec!["MIT".into()]),
        ),
        (
            &[
                ("example.com/m@v1.0.0/LICENSE-MIT", MIT),
                ("example.com/m@v1.0.0/COPYING", ISC),
            ],
            License::Identified(vec!["ISC".into(), "MIT".into()]),
        ),
        // A licence below the root is a vendored directory's, not the module's.
        (
            &[("example.com/m@v1.0.0/third_party/x/LICENSE", MIT)],
            License::Unknown,
        ),
        (
            &[(
                "example.com/m@v1.0.0/LICENSE",
                "Proprietary. Do not copy.\n",
            )],
            License::Unknown,
        ),
        (
            &[("example.com/m@v1.0.0/go.mod", "module example.com/m\n")],
            License::Unknown,
        ),
    ];
    for (files, expect) in cases {
        let detected = detect_zip(Cursor::new(zip_of(files)), ROOT).unwrap();
        assert_eq!(&detected.license(), expect, "{files:?}: {detected:?}");
    }
    let err = detect_zip(Cursor::new(b"not a zip".to_vec()), ROOT);
    assert!(err.is_err());
}
