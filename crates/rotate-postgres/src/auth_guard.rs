//! Admin logins answer SCRAM only: a server that asks for the password in cleartext or as an
//! MD5 hash gets nothing. Every login also records how the server authenticated it: only a
//! completed SCRAM exchange proves that the server holds this password's verifier.
//!
//! tokio-postgres answers whatever authentication request the server sends, and a server
//! someone else controls (or a man in the middle of an unverified connection) can simply ask
//! for the cleartext password. libpq offers `require_auth=scram-sha-256` for this. Here the
//! server's messages are read before tokio-postgres sees them, and a cleartext or MD5 request
//! ends the connection before any password is sent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use rotation_core::PasswordCheck;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

/// Backend message type of authentication requests, and the request codes that reveal the
/// password (PostgreSQL protocol: AuthenticationCleartextPassword, AuthenticationMD5Password).
const AUTHENTICATION: u8 = b'R';
const AUTH_OK: u32 = 0;
const CLEARTEXT: u32 = 3;
const MD5: u32 = 5;
/// AuthenticationSASLFinal: the server's proof, which tokio-postgres then checks.
const SASL_FINAL: u32 = 12;
const ERROR_RESPONSE: u8 = b'E';
/// Type, length and request code of an authentication message.
const AUTH_HEADER_LEN: usize = 9;
const HEADER_LEN: usize = 5;

/// The server asked for the password in a form that reveals it.
#[derive(Debug)]
pub struct WeakAuthRequest {
    pub method: &'static str,
}

impl std::fmt::Display for WeakAuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server asked for the password {}; admin logins answer only SCRAM-SHA-256, so nothing was sent",
            self.method
        )
    }
}

impl std::error::Error for WeakAuthRequest {}

/// How the server authenticated one login, shared with the connection that tokio-postgres
/// drives.
#[derive(Debug, Clone, Default)]
pub struct PasswordAsked(Arc<AtomicU8>);

const NOT_ASKED: u8 = 0;
const SENT: u8 = 1;
const PROVEN: u8 = 2;

impl PasswordAsked {
    pub fn check(&self) -> PasswordCheck {
        match self.0.load(Ordering::SeqCst) {
            NOT_ASKED => PasswordCheck::NotAsked,
            PROVEN => PasswordCheck::Proven,
            _ => PasswordCheck::Unknown,
        }
    }

    fn record(&self, seen: u8) {
        self.0.fetch_max(seen, Ordering::SeqCst);
    }
}

/// Reads message headers until authentication is over, holding back each authentication
/// request until its code is known.
#[derive(Debug)]
struct Inspector {
    /// Refuse cleartext and MD5 requests.
    enforce: bool,
    asked: PasswordAsked,
    header: [u8; AUTH_HEADER_LEN],
    have: usize,
    /// Body bytes of the current message still to pass.
    skip: usize,
    /// Authentication is over (or the server reported an error): nothing more to look at.
    finished: bool,
    finish_after_message: bool,
}

impl Inspector {
    fn new(enforce: bool, asked: PasswordAsked) -> Self {
        Self {
            enforce,
            asked,
            header: [0; AUTH_HEADER_LEN],
            have: 0,
            skip: 0,
            finished: false,
            finish_after_message: false,
        }
    }

    /// Moves the bytes of `data` that are safe to hand on into `out`.
    fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), WeakAuthRequest> {
        while !data.is_empty() {
            if self.finished {
                out.extend_from_slice(data);
                return Ok(());
            }
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                out.extend_from_slice(&data[..n]);
                data = &data[n..];
                self.skip -= n;
                if self.skip == 0 && self.finish_after_message {
                    self.finished = true;
                }
                continue;
            }
            let wanted = if self.have > 0 && self.header[0] == AUTHENTICATION {
                AUTH_HEADER_LEN
            } else {
                HEADER_LEN
            };
            let n = (wanted - self.have).min(data.len());
            self.header[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have < wanted {
                continue;
            }
            let kind = self.header[0];
            if kind == AUTHENTICATION && self.have < AUTH_HEADER_LEN {
                continue;
            }
            let length = u32::from_be_bytes(self.header[1..5].try_into().unwrap()) as usize;
            if kind == AUTHENTICATION {
                let code = u32::from_be_bytes(self.header[5..9].try_into().unwrap());
                match code {
                    CLEARTEXT if self.enforce => {
                        return Err(WeakAuthRequest {
                            method: "in cleartext",
                        });
                    }
                    MD5 if self.enforce => {
                        return Err(WeakAuthRequest {
                            method: "as an MD5 hash",
                        });
                    }
                    CLEARTEXT | MD5 => self.asked.record(SENT),
                    SASL_FINAL => self.asked.record(PROVEN),
                    AUTH_OK => self.finish_after_message = true,
                    _ => {}
                }
            } else if kind == ERROR_RESPONSE {
                self.finish_after_message = true;
            }
            out.extend_from_slice(&self.header[..self.have]);
            self.skip = length.saturating_sub(self.have - 1);
            self.have = 0;
            if self.skip == 0 && self.finish_after_message {
                self.finished = true;
            }
        }
        Ok(())
    }
}

/// A connection to the server that refuses cleartext and MD5 authentication requests when
/// `enforce` is on, passes everything else through unchanged, and records in `asked` whether
/// the server asked for the password.
pub struct ScramOnly<S> {
    inner: S,
    inspector: Inspector,
    /// Bytes inspected and not yet handed to the reader.
    ready: Vec<u8>,
    offset: usize,
}

impl<S> ScramOnly<S> {
    pub fn new(inner: S, enforce: bool, asked: PasswordAsked) -> Self {
        Self {
            inner,
            inspector: Inspector::new(enforce, asked),
            ready: Vec::new(),
            offset: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ScramOnly<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.offset < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.offset);
                buf.put_slice(&this.ready[this.offset..this.offset + n]);
                this.offset += n;
                return Poll::Ready(Ok(()));
            }
            if this.inspector.finished {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 4096];
            let mut read = ReadBuf::new(&mut chunk);
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.ready.clear();
            this.offset = 0;
            this.inspector
                .feed(read.filled(), &mut this.ready)
                .map_err(|refused| io::Error::new(io::ErrorKind::PermissionDenied, refused))?;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ScramOnly<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for ScramOnly<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// Wraps a TLS connector so the decrypted stream is inspected too, and records whether the
/// server agreed to TLS at all (the handshake starts only after it did).
pub struct GuardedTls<T> {
    inner: T,
    enforce: bool,
    asked: PasswordAsked,
    started: Arc<AtomicBool>,
}

impl<T> GuardedTls<T> {
    pub fn new(inner: T, enforce: bool, asked: PasswordAsked) -> (Self, Arc<AtomicBool>) {
        let started = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                enforce,
                asked,
                started: started.clone(),
            },
            started,
        )
    }
}

impl<S, T> TlsConnect<S> for GuardedTls<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
    T::Stream: Send + 'static,
{
    type Stream = ScramOnly<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        self.started.store(true, Ordering::SeqCst);
        let (enforce, asked) = (self.enforce, self.asked);
        let handshake = self.inner.connect(stream);
        Box::pin(async move { Ok(ScramOnly::new(handshake.await?, enforce, asked)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(extra);
        message(b'R', &body)
    }

    async fn read_all(bytes: Vec<u8>, enforce: bool, chunk: usize) -> io::Result<Vec<u8>> {
        read_watching(bytes, enforce, chunk, PasswordAsked::default()).await
    }

    async fn read_watching(
        bytes: Vec<u8>,
        enforce: bool,
        chunk: usize,
        asked: PasswordAsked,
    ) -> io::Result<Vec<u8>> {
        // Deliver in small pieces, as a network does.
        let (mut writer, reader) = tokio::io::duplex(chunk);
        let feeder = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in bytes.chunks(chunk) {
                writer.write_all(piece).await.unwrap();
            }
        });
        let mut out = Vec::new();
        let result = ScramOnly::new(reader, enforce, asked)
            .read_to_end(&mut out)
            .await;
        feeder.abort();
        result.map(|_| out)
    }

    #[tokio::test]
    async fn cleartext_and_md5_requests_are_refused_before_they_reach_the_client() {
        for (request, method) in [
            (auth(CLEARTEXT, &[]), "cleartext"),
            (auth(MD5, b"salt"), "MD5"),
        ] {
            for chunk in [1, 3, 64] {
                // A notice first cannot sneak the request past.
                let mut stream = message(b'N', b"SFOO\0\0");
                stream.extend_from_slice(&request);
                let err = read_all(stream, true, chunk).await.unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
                assert!(err.to_string().contains(method), "{err}");
            }
        }
    }

    #[tokio::test]
    async fn scram_and_everything_after_authentication_pass_unchanged() {
        let mut stream = auth(10, b"SCRAM-SHA-256\0\0");
        stream.extend_from_slice(&auth(11, b"r=abc"));
        stream.extend_from_slice(&auth(12, b"v=xyz"));
        stream.extend_from_slice(&auth(AUTH_OK, &[]));
        // After authentication the bytes are no longer looked at.
        stream.extend_from_slice(&auth(CLEARTEXT, &[]));
        stream.extend_from_slice(&message(b'Z', b"I"));
        for chunk in [1, 7, 4096] {
            assert_eq!(read_all(stream.clone(), true, chunk).await.unwrap(), stream);
        }
        let cleartext = auth(CLEARTEXT, &[]);
        assert_eq!(
            read_all(cleartext.clone(), false, 2).await.unwrap(),
            cleartext
        );
        let refusal = message(b'E', b"SFATAL\0");
        assert_eq!(read_all(refusal.clone(), true, 2).await.unwrap(), refusal);
    }

    #[tokio::test]
    async fn a_login_records_how_the_server_authenticated_it() {
        let trusted = auth(AUTH_OK, &[]);
        let mut scram = auth(10, b"SCRAM-SHA-256\0\0");
        scram.extend_from_slice(&auth(11, b"r=abc"));
        scram.extend_from_slice(&auth(SASL_FINAL, b"v=xyz"));
        scram.extend_from_slice(&auth(AUTH_OK, &[]));
        // A request after authentication ended is ordinary data, not a request.
        let mut trusted_then_data = trusted.clone();
        trusted_then_data.extend_from_slice(&auth(SASL_FINAL, &[]));
        let mut cleartext = auth(CLEARTEXT, &[]);
        cleartext.extend_from_slice(&auth(AUTH_OK, &[]));
        for (stream, enforce, expected) in [
            (trusted, true, PasswordCheck::NotAsked),
            (trusted_then_data, false, PasswordCheck::NotAsked),
            (scram, true, PasswordCheck::Proven),
            (cleartext, false, PasswordCheck::Unknown),
            (auth(MD5, b"salt"), false, PasswordCheck::Unknown),
        ] {
            for chunk in [1, 4096] {
                let asked = PasswordAsked::default();
                read_watching(stream.clone(), enforce, chunk, asked.clone())
                    .await
                    .unwrap();
                assert_eq!(asked.check(), expected, "{stream:?}");
            }
        }
    }
}
