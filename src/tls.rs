//! What the IMAP source and the SMTP sink share below the protocol: the stream (plain TCP or
//! TLS over it) and the TLS client configuration (the system's roots plus an optional CA file).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The one stream type under every mail connection, TLS or not.
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MailStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            MailStream::Plain(s) => s,
            MailStream::Tls(s) => s.get_ref().0,
        }
    }
}

impl fmt::Debug for MailStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailStream::Plain(_) => f.write_str("MailStream::Plain"),
            MailStream::Tls(_) => f.write_str("MailStream::Tls"),
        }
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// lettre runs its SMTP conversation over any such stream; we hand it ours so that the socket
/// is the one we opened (with TCP_NODELAY: lettre writes the body and the final "." apart, and
/// with Nagle on, the "." waits for the server's delayed ACK, about 40 ms a message).
impl lettre::transport::smtp::client::AsyncTokioStream for MailStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }
}

/// The trust set-up cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// The TLS client configuration: the system's roots plus the PEM certificates of `ca_file`.
/// `section` (`imap`, `smtp`) names the config section in the messages.
pub fn client_config(
    ca_file: Option<&Path>,
    section: &str,
) -> Result<Arc<rustls::ClientConfig>, TrustError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system certificate could not be loaded");
    }
    let _ = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let bad = |message: String| TrustError::CaFile {
            path: path.display().to_string(),
            message,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("cannot read it: {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("unusable certificate: {e}")))?;
        }
    }
    if roots.is_empty() {
        return Err(TrustError::Other(format!(
            "no CA certificates to trust: the system has none installed and no [{section}] ca_file is given"
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TrustError::Other(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
