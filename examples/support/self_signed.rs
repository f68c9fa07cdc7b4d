//! A self-signed certificate for the TLS examples, made once in a folder.

use std::path::{Path, PathBuf};

use workerman::TlsConfig;

/// The certificate and key files in `dir` (for `localhost` and
/// `127.0.0.1`), made on first use and reused afterwards, so that the
/// master and every worker process serve the same certificate.
pub(crate) fn certificate(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir)?;
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(std::io::Error::other)?;
    // Written under temporary names, then renamed: a process starting at
    // the same moment never reads half a file.
    let tmp = dir.join(format!(".key.{}", std::process::id()));
    std::fs::write(&tmp, made.signing_key.serialize_pem())?;
    std::fs::rename(&tmp, &key)?;
    let tmp = dir.join(format!(".cert.{}", std::process::id()));
    std::fs::write(&tmp, made.cert.pem())?;
    std::fs::rename(&tmp, &cert)?;
    Ok((cert, key))
}

/// The TLS settings for the certificate in `$CERT_DIR` (default
/// `<temp dir>/<default_dir>`), made there if absent. Exits with a logged
/// error when the folder cannot be written or the files are unusable.
pub(crate) fn tls_from_env(default_dir: &str) -> TlsConfig {
    let dir = std::env::var_os("CERT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(default_dir));
    let loaded = certificate(&dir)
        .map_err(|e| e.to_string())
        .and_then(|(cert, key)| TlsConfig::from_pem_files(&cert, &key).map_err(|e| e.to_string()));
    match loaded {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), "no certificate");
            std::process::exit(1);
        }
    }
}
