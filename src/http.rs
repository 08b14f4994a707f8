//! The one HTTP client setup, for health checks and webhooks (SPEC §9
//! "HTTPS"): `https://` verified by rustls against the system's roots (the
//! PEM bundle of the distribution, or `SSL_CERT_FILE`), plus a private CA
//! from `ca_file`; never a proxy from the environment, never a redirect
//! followed, a timeout on the whole exchange. No option turns verification
//! off. Where no system bundle exists, the Mozilla roots built into the
//! binary are used, so `https://` to a public host still verifies.
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::tls::{parse_pem, Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

/// The largest certificate bundle read (a distribution's is about 200 KB).
const MAX_PEM_BYTES: u64 = 4 << 20;

/// Where distributions keep their bundle of trusted roots.
const BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn certs_in(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let pem = crate::desired::opened::read_small_file(path, MAX_PEM_BYTES)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The system's roots, read once per process; None: no bundle found.
fn system_roots() -> Option<&'static Vec<Certificate<'static>>> {
    static ROOTS: OnceLock<Option<Vec<Certificate<'static>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
            env.into_iter()
                .chain(BUNDLES.iter().map(PathBuf::from))
                .find_map(|p| certs_in(&p).ok())
        })
        .as_ref()
}

/// An agent for one service's checks or one webhook: `ca_file` adds a
/// private CA to the system's roots. Err: the CA file cannot be used.
pub fn agent(timeout: Duration, ca_file: Option<&Path>) -> Result<ureq::Agent, String> {
    let roots = match (system_roots(), ca_file) {
        (None, None) => RootCerts::WebPki,
        (system, ca) => {
            let mut all = system.cloned().unwrap_or_default();
            if let Some(ca) = ca {
                all.extend(certs_in(ca).map_err(|e| format!("ca_file: {e}"))?);
            }
            RootCerts::Specific(Arc::new(all))
        }
    };
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots)
        .build();
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        // A 503 is an answer to report, not an error to unwrap.
        .http_status_as_error(false)
        // A redirect is reported as its status rather than followed.
        .max_redirects(0)
        // Local endpoints: never through an environment proxy.
        .proxy(None)
        .tls_config(tls)
        .build()
        .new_agent())
}

/// A short reason for a failed request: `TLS: certificate not trusted`,
/// `connection refused`, … (`None`: not a TLS error; the caller words it).
pub fn tls_reason(e: &impl std::fmt::Display) -> Option<String> {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if !(lower.contains("tls") || lower.contains("certificate") || lower.contains("rustls")) {
        return None;
    }
    let why = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "certificate not trusted".to_string()
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "certificate does not match the host".to_string()
    } else if lower.contains("expired") {
        "certificate expired".to_string()
    } else {
        text
    };
    Some(format!("TLS: {why}"))
}
