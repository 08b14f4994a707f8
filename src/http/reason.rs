//! A failed HTTPS exchange in plain words: `TLS: certificate not trusted
//! (…)`, `TLS: certificate expired`, … — never rustls's debug output
//! (`Other(OtherError(CaUsedAsEndEntity))`).
use rustls::{CertificateError, Error};

const CA_AS_SERVER: &str = "TLS: the server's certificate is a CA certificate (self-signed?): put that very certificate in `ca_file` to trust it";

/// The words for a certificate webpki refused.
fn certificate(e: &CertificateError) -> &'static str {
    use CertificateError as C;
    match e {
        C::UnknownIssuer => {
            "TLS: certificate not trusted (unknown issuer: `ca_file` names a private CA)"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "TLS: certificate does not match the host"
        }
        C::Expired | C::ExpiredContext { .. } => "TLS: certificate expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "TLS: certificate not valid yet (is the clock right?)"
        }
        C::Revoked => "TLS: certificate revoked",
        C::BadSignature
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "TLS: certificate signature invalid or of an unsupported algorithm"
        }
        C::BadEncoding => "TLS: certificate malformed",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "TLS: certificate not meant for a server"
        }
        C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => CA_AS_SERVER,
        _ => "TLS: certificate refused",
    }
}

/// The words for a failed handshake.
pub fn words(e: &Error) -> &'static str {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::NoCertificatesPresented => "TLS: the server presented no certificate",
        Error::AlertReceived(_) => {
            "TLS: the server ended the handshake (does it want a client certificate?)"
        }
        Error::PeerIncompatible(_) => "TLS: no TLS version or cipher in common with the server",
        Error::InvalidMessage(_) => "TLS: the server does not speak TLS (plain HTTP? `http://`)",
        Error::PeerMisbehaved(_) => "TLS: the server broke the TLS protocol",
        _ => "TLS: handshake failed",
    }
}

/// A rustls error of the handshake as ureq's.
pub fn handshake(e: &Error) -> ureq::Error {
    ureq::Error::Tls(words(e))
}

/// An I/O error of the handshake: rustls's own in words, the rest as it is
/// (a refused or reset connection, a timeout).
pub fn handshake_io(e: std::io::Error) -> ureq::Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(tls) => handshake(tls),
        None => ureq::Error::Io(e),
    }
}

/// A short reason for a failed request: `TLS: certificate not trusted`,
/// `connection refused`, … (`None`: not a TLS error; the caller words it).
pub fn tls_reason(e: &impl std::fmt::Display) -> Option<String> {
    let text = e.to_string();
    if text.starts_with("TLS: ") {
        return Some(text);
    }
    let lower = text.to_ascii_lowercase();
    let tls = lower.contains("tls") || lower.contains("certificate") || lower.contains("rustls");
    tls.then(|| format!("TLS: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_are_in_words() {
        let e = Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(words(&e).starts_with("TLS: certificate not trusted"));
        let e = Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(words(&e), "TLS: certificate expired");
        let e = Error::InvalidCertificate(CertificateError::NotValidForName);
        assert_eq!(words(&e), "TLS: certificate does not match the host");
    }

    #[test]
    fn a_wrapped_rustls_error_is_worded_and_others_kept() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            Error::InvalidCertificate(CertificateError::Revoked),
        );
        assert_eq!(handshake_io(io).to_string(), "TLS: certificate revoked");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!handshake_io(refused).to_string().starts_with("TLS: "));
    }
}
