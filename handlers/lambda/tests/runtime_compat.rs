//! The bootstrap must start on Lambda's provided.al2023, whose glibc is 2.34.

#[test]
fn bootstrap_needs_no_glibc_newer_than_provided_al2023() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_bootstrap")).unwrap();
    let v = secauto::bundle::max_glibc(&bin).expect("a glibc-linked binary");
    eprintln!("bootstrap's highest glibc symbol: GLIBC_{}.{}", v.0, v.1);
    assert!(
        v <= secauto::bundle::PROVIDED_AL2023_GLIBC,
        "needs GLIBC_{}.{}",
        v.0,
        v.1
    );
}

#[test]
fn bootstrap_refuses_to_start_without_its_environment() {
    // Outside Lambda (no SECAUTO_FUNCTION) it exits with a clear error instead of panicking.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SECAUTO_FUNCTION"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
