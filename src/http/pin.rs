//! The server certificate verifier: webpki's full verification, and one
//! exception. A server certificate equal byte for byte to one of
//! `ca_file`'s is trusted as pinned, whatever webpki says of it: the
//! self-signed certificate of `openssl req -x509` says `CA:TRUE`, and
//! webpki refuses a CA as the server's own (`CaUsedAsEndEntity`) where curl
//! with `--cacert` accepts it. The handshake's signatures are always
//! checked, so the server holds the pinned certificate's key.
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

#[derive(Debug)]
pub struct Pinned {
    webpki: Arc<WebPkiServerVerifier>,
    pins: Vec<CertificateDer<'static>>,
}

impl Pinned {
    pub fn new(webpki: Arc<WebPkiServerVerifier>, pins: Vec<CertificateDer<'static>>) -> Self {
        Pinned { webpki, pins }
    }

    fn is_pinned(&self, cert: &CertificateDer<'_>) -> bool {
        self.pins.iter().any(|p| p.as_ref() == cert.as_ref())
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(_) if self.is_pinned(end_entity) => Ok(ServerCertVerified::assertion()),
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
