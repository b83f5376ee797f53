//! Deterministic handler bundles: `<artifacts>/<function>/bootstrap.zip` holding one file, `bootstrap`,
//! mode 0755, with a fixed timestamp, so the same binary always gives the same bytes (and the same
//! CodeSha256, so deploy skips the upload).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// Base64 SHA-256, the form Lambda reports as CodeSha256.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The bundle path of a function.
pub fn bundle_path(artifacts_dir: &Path, suffix: &str) -> PathBuf {
    artifacts_dir.join(suffix).join("bootstrap.zip")
}

/// Zip one binary as `bootstrap`.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .unix_permissions(0o755)
            .last_modified_time(zip::DateTime::default());
        zip.start_file("bootstrap", options)?;
        zip.write_all(binary)?;
        zip.finish()?;
    }
    Ok(out.into_inner())
}

/// The glibc of Lambda's provided.al2023 runtime.
pub const PROVIDED_AL2023_GLIBC: (u32, u32) = (2, 34);

/// The highest `GLIBC_x.y` symbol version an ELF binary names, if any.
pub fn max_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    let needle = b"GLIBC_";
    let mut best = None;
    let mut i = 0;
    while i + needle.len() < binary.len() {
        if &binary[i..i + needle.len()] == needle {
            let rest = &binary[i + needle.len()..];
            let end = rest
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                .unwrap_or(rest.len());
            let text = std::str::from_utf8(&rest[..end]).unwrap_or("");
            let mut parts = text.split('.');
            if let (Some(Ok(major)), Some(Ok(minor))) = (
                parts.next().map(str::parse::<u32>),
                parts.next().map(str::parse::<u32>),
            ) {
                if best.is_none_or(|b| (major, minor) > b) {
                    best = Some((major, minor));
                }
            }
            i += needle.len() + end;
        } else {
            i += 1;
        }
    }
    best
}

/// The Lambda architecture an ELF binary runs on, from its header's `e_machine`:
/// `x86_64` (EM_X86_64, 62) or `arm64` (EM_AARCH64, 183); `None` for anything else.
pub fn elf_architecture(binary: &[u8]) -> Option<&'static str> {
    if binary.len() < 20 || !binary.starts_with(b"\x7fELF") {
        return None;
    }
    // e_ident[EI_DATA]: 1 little-endian, 2 big-endian.
    let machine = match binary[5] {
        1 => u16::from_le_bytes([binary[18], binary[19]]),
        2 => u16::from_be_bytes([binary[18], binary[19]]),
        _ => return None,
    };
    match machine {
        62 => Some("x86_64"),
        183 => Some("arm64"),
        _ => None,
    }
}

/// The architecture of the `bootstrap` inside a bundle, or a sentence saying why it has none.
pub fn bundle_architecture(zip_bytes: &[u8]) -> Result<&'static str, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| format!("is not a zip archive ({e})"))?;
    let mut file = archive
        .by_name("bootstrap")
        .map_err(|_| "holds no `bootstrap` file".to_string())?;
    let mut head = [0u8; 20];
    std::io::Read::read_exact(&mut file, &mut head)
        .map_err(|_| "holds a `bootstrap` too short to be an executable".to_string())?;
    if !head.starts_with(b"\x7fELF") {
        return Err("holds a `bootstrap` that is not a Linux executable (ELF)".into());
    }
    elf_architecture(&head).ok_or_else(|| {
        "holds a `bootstrap` for a CPU Lambda does not run (neither x86_64 nor arm64)".into()
    })
}

/// What `write_bundles` did for one function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub function: String,
    pub path: PathBuf,
    pub bytes: usize,
    pub code_sha256: String,
    /// False when an identical bundle was already there (left untouched).
    pub changed: bool,
}

/// Write the bundle of `binary` under `artifacts_dir` for every one of `functions` (config key,
/// name suffix: `stack::FUNCTIONS`).
pub fn write_bundles(
    binary_path: &Path,
    artifacts_dir: &Path,
    functions: &[(&str, &str)],
) -> Result<Vec<Written>> {
    let binary = std::fs::read(binary_path)
        .with_context(|| format!("cannot read handler binary {}", binary_path.display()))?;
    if !binary.starts_with(b"\x7fELF") {
        anyhow::bail!(
            "{} is not a Linux executable (ELF); Lambda's provided.al2023 runtime needs one",
            binary_path.display()
        );
    }
    if let Some(v) = max_glibc(&binary) {
        if v > PROVIDED_AL2023_GLIBC {
            anyhow::bail!(
                "{} needs GLIBC_{}.{}, but Lambda's provided.al2023 has glibc {}.{}: build it on an older system or with `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17`",
                binary_path.display(),
                v.0,
                v.1,
                PROVIDED_AL2023_GLIBC.0,
                PROVIDED_AL2023_GLIBC.1
            );
        }
    }
    let zip = zip_bootstrap(&binary)?;
    let sha = code_sha256(&zip);
    let mut out = Vec::new();
    for (_, suffix) in functions {
        let path = bundle_path(artifacts_dir, suffix);
        let changed = std::fs::read(&path).map(|old| old != zip).unwrap_or(true);
        if changed {
            let dir = path.parent().unwrap_or(artifacts_dir);
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let tmp = dir.join(".bootstrap.zip.tmp");
            std::fs::write(&tmp, &zip)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        out.push(Written {
            function: suffix.to_string(),
            path,
            bytes: zip.len(),
            code_sha256: sha.clone(),
            changed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTIONS: &[(&str, &str)] = &[("triage", "triage"), ("error_handler", "error-handler")];

    #[test]
    fn same_binary_same_bytes() {
        let a = zip_bootstrap(b"\x7fELF binary").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = zip_bootstrap(b"\x7fELF binary").unwrap();
        assert_eq!(a, b);
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        let f = z.by_name("bootstrap").unwrap();
        assert_eq!(f.unix_mode().unwrap() & 0o777, 0o755);
    }

    #[test]
    fn glibc_versions_are_read() {
        assert_eq!(
            max_glibc(b"\x7fELF..GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0"),
            Some((2, 34))
        );
        assert_eq!(max_glibc(b"nothing"), None);
    }

    #[test]
    fn too_new_glibc_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bootstrap");
        std::fs::write(&bin, b"\x7fELF GLIBC_2.38\0").unwrap();
        let err = write_bundles(&bin, dir.path(), FUNCTIONS).unwrap_err();
        assert!(err.to_string().contains("GLIBC_2.38"), "{err}");
    }

    #[test]
    fn non_elf_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("x");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        let err = write_bundles(&bin, dir.path(), FUNCTIONS).unwrap_err();
        assert!(err.to_string().contains("ELF"), "{err}");
    }

    fn elf_header(machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF\x02\x01\x01".to_vec();
        h.resize(18, 0);
        h.extend_from_slice(&machine.to_le_bytes());
        h.extend_from_slice(b"rest of the binary");
        h
    }

    #[test]
    fn architectures_are_read_from_the_elf_header() {
        assert_eq!(elf_architecture(&elf_header(62)), Some("x86_64"));
        assert_eq!(elf_architecture(&elf_header(183)), Some("arm64"));
        assert_eq!(elf_architecture(&elf_header(40)), None);
        let zip = zip_bootstrap(&elf_header(183)).unwrap();
        assert_eq!(bundle_architecture(&zip), Ok("arm64"));
        let script = zip_bootstrap(b"#!/bin/sh\necho hello from a script\n").unwrap();
        assert!(bundle_architecture(&script)
            .unwrap_err()
            .contains("not a Linux executable"));
        assert!(bundle_architecture(b"not a zip").is_err());
    }

    #[test]
    fn this_machines_true_is_read() {
        let bin = std::fs::read("/bin/true").unwrap();
        let want = if cfg!(target_arch = "aarch64") {
            "arm64"
        } else {
            "x86_64"
        };
        assert_eq!(elf_architecture(&bin), Some(want));
    }

    #[test]
    fn rewrite_is_skipped_when_identical() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bootstrap");
        std::fs::write(&bin, b"\x7fELF 1").unwrap();
        let first = write_bundles(&bin, &dir.path().join("out"), FUNCTIONS).unwrap();
        assert!(first.iter().all(|w| w.changed));
        let second = write_bundles(&bin, &dir.path().join("out"), FUNCTIONS).unwrap();
        assert!(second.iter().all(|w| !w.changed));
        assert_eq!(first[0].code_sha256, second[0].code_sha256);
    }
}
