//! TLS for HTTPS and for taking mail with `STARTTLS`: a certificate chain and its key
//! from PEM text, checked to go together. For HTTPS the certificate can be replaced while
//! serving ([`Https::reload`], on SIGHUP): new handshakes get the new one, connections
//! already open keep theirs.

use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the certificate file holds no readable PEM certificate: {0}")]
    Certificate(String),
    #[error("the key file holds no readable PEM private key: {0}")]
    Key(String),
    #[error("the certificate and key do not go together: {0}")]
    Mismatch(rustls::Error),
    #[error("TLS cannot be set up: {0}")]
    Config(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain (the server's own certificate first) and its private key (PKCS
/// #8, PKCS #1 or SEC1), read from PEM and checked to go together.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate("no CERTIFICATE block".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key(e.to_string()))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(TlsError::Mismatch)?;
    Ok(Arc::new(certified))
}

/// A server configuration that serves whatever `certificate` holds, offering `alpn`.
fn server_config(
    certificate: Arc<dyn ResolvesServerCert>,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(certificate);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The TLS side of `STARTTLS`: the server's certificate and key, replaceable like
/// HTTPS's ([`Https::reload`]).
pub type MailTls = Https;

/// The TLS configuration for `STARTTLS` from PEM text (no ALPN: SMTP has none).
pub fn mail_tls(cert_pem: &[u8], key_pem: &[u8]) -> Result<MailTls, TlsError> {
    Https::with_alpn(cert_pem, key_pem, &[])
}

/// The certificate being served; replaceable.
#[derive(Debug)]
struct Certificate(RwLock<Arc<CertifiedKey>>);

impl Certificate {
    fn new(key: Arc<CertifiedKey>) -> Certificate {
        Certificate(RwLock::new(key))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// A TLS server configuration and the certificate it serves: HTTPS (HTTP/1.1) or the
/// mail listener's `STARTTLS`.
#[derive(Clone)]
pub struct Https {
    pub(crate) config: Arc<rustls::ServerConfig>,
    certificate: Arc<Certificate>,
}

impl std::fmt::Debug for Https {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Https")
    }
}

impl Https {
    pub fn new(cert_pem: &[u8], key_pem: &[u8]) -> Result<Https, TlsError> {
        Https::with_alpn(cert_pem, key_pem, &[b"http/1.1"])
    }

    fn with_alpn(cert_pem: &[u8], key_pem: &[u8], alpn: &[&[u8]]) -> Result<Https, TlsError> {
        let certificate = Arc::new(Certificate::new(certified_key(cert_pem, key_pem)?));
        Ok(Https {
            config: server_config(certificate.clone(), alpn)?,
            certificate,
        })
    }

    /// Serves `cert_pem` and `key_pem` from the next handshake on. On an error the
    /// certificate being served stays.
    pub fn reload(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let key = certified_key(cert_pem, key_pem)?;
        *self
            .certificate
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }
}

/// How long browsers remember to come back only over HTTPS: a year.
const HSTS: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` to every answer served over HTTPS.
pub(crate) async fn strict_transport_security(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(HSTS),
    );
    response
}

/// Plain HTTP's only answer when onduty serves HTTPS: `308` to the same path over HTTPS,
/// on the host the client asked for (or the public URL's), at the public URL's port.
pub(crate) fn redirect_router(public_url: &str) -> axum::Router {
    let public = public_url.parse::<axum::http::Uri>().ok();
    let default_host = public
        .as_ref()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    let port = public
        .as_ref()
        .and_then(axum::http::Uri::port_u16)
        .filter(|p| *p != 443);
    axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, uri: axum::http::Uri| async move {
            let asked = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
                .map(|a| a.host().to_owned());
            let host = asked.unwrap_or(default_host);
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::permanent(&format!("https://{host}{port}{path}"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(name: &str) -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (made.cert.pem(), made.key_pair.serialize_pem())
    }

    #[test]
    fn a_certificate_needs_its_own_key_and_readable_pem() {
        let (cert, key) = made("localhost");
        let (_, other_key) = made("localhost");
        assert!(Https::new(cert.as_bytes(), key.as_bytes()).is_ok());
        let table = [
            (cert.as_str(), other_key.as_str(), "do not go together"),
            (
                "not a certificate",
                key.as_str(),
                "no readable PEM certificate",
            ),
            (cert.as_str(), "", "no readable PEM private key"),
            (key.as_str(), key.as_str(), "no readable PEM certificate"),
        ];
        for (c, k, expected) in table {
            let error = Https::new(c.as_bytes(), k.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn a_failed_reload_keeps_the_certificate_served() {
        let (cert, key) = made("localhost");
        let https = Https::new(cert.as_bytes(), key.as_bytes()).unwrap();
        let served = || https.certificate.0.read().unwrap().cert[0].clone();
        let before = served();
        assert!(https.reload(b"garbage", key.as_bytes()).is_err());
        assert_eq!(served(), before);
        let (new_cert, new_key) = made("localhost");
        https
            .reload(new_cert.as_bytes(), new_key.as_bytes())
            .unwrap();
        assert_ne!(served(), before);
    }
}
