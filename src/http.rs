//! The one HTTP client setup, for health checks and webhooks (docs/reference/behaviour.md,
//! "HTTPS"): `https://` verified by rustls against the system's roots (the
//! PEM bundle of the distribution, or `SSL_CERT_FILE`), plus a private CA
//! from `ca_file`; never a proxy from the environment, never a redirect
//! followed, a timeout on the whole exchange. No option turns verification
//! off. Where no system bundle exists, the Mozilla roots built into the
//! binary are used, so `https://` to a public host still verifies.
//!
//! A server certificate that is byte for byte one of `ca_file`'s is
//! trusted as pinned (`pin.rs`): the self-signed certificate of
//! `openssl req -x509`, which says `CA:TRUE`, as curl's `--cacert` trusts
//! it. Every other certificate is verified in full.
mod pin;
mod reason;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use ureq::tls::{parse_pem, PemItem};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, TcpConnector};

pub use reason::tls_reason;

/// The largest certificate bundle read (a distribution's is about 200 KB).
const MAX_PEM_BYTES: u64 = 4 << 20;

/// Where distributions keep their bundle of trusted roots.
const BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn certs_in(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = crate::desired::opened::read_small_file(path, MAX_PEM_BYTES)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(CertificateDer::from(c.der().to_vec())),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The system's roots (or, where no bundle is found, the built-in Mozilla
/// roots), read once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let bundle = env
            .into_iter()
            .chain(BUNDLES.iter().map(PathBuf::from))
            .find_map(|p| certs_in(&p).ok());
        match bundle {
            Some(certs) => {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(certs);
                roots
            }
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        }
    })
}

/// An agent for one service's checks or one webhook: `ca_file` adds a
/// private CA to the system's roots (and pins its certificates as the
/// server's own). Err: the CA file cannot be used.
pub fn agent(timeout: Duration, ca_file: Option<&Path>) -> Result<ureq::Agent, String> {
    let mut roots = system_roots().clone();
    let pinned = match ca_file {
        Some(ca) => certs_in(ca).map_err(|e| format!("ca_file: {e}"))?,
        None => Vec::new(),
    };
    roots.add_parsable_certificates(pinned.iter().cloned());
    let tls = tls::Tls::new(roots, pinned).map_err(|e| format!("ca_file: {e}"))?;
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        // A 503 is an answer to report, not an error to unwrap.
        .http_status_as_error(false)
        // A redirect is reported as its status rather than followed.
        .max_redirects(0)
        // Local endpoints: never through an environment proxy.
        .proxy(None)
        .build();
    let connector = ().chain(TcpConnector::default()).chain(tls);
    Ok(ureq::Agent::with_parts(
        config,
        connector,
        DefaultResolver::default(),
    ))
}
