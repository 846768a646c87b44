//! The HTTP/1.1 accept loop, with the limits that keep idle or slow clients from using up
//! the process: a connection that does not send a request's headers within
//! [`Limits::header_timeout`] (a new one, or a kept-alive one between requests) is closed,
//! and past [`Limits::max_connections`] a new connection is answered `503` and closed, so
//! the file descriptors the database needs are never all taken by sockets.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How many connections, and how long a client may take to send a request's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    /// Also how long a kept-alive connection may sit idle between requests.
    pub header_timeout: Duration,
}

/// Connections open at once unless the file limit asks for fewer.
pub const MAX_CONNECTIONS: usize = 10_000;
/// A client sends a request's headers within this, or its connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
        }
    }
}

/// What a connection over the limit is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 56\r\n\
\r\n\
onduty has too many open connections; try again shortly\n";

/// Refusals answered at once; past this a connection over the limit is just closed.
const REFUSALS_AT_ONCE: usize = 64;

/// After an error accepting (out of file descriptors, say), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits for open connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusal);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    request
                });
        let service = TowerToHyperService::new(service);
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                // The handshake counts against the header timeout: a client that opens a
                // connection and says nothing is closed all the same.
                Some(tls) => {
                    match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Tells a connection over the limit to come back, reading what it sent so that closing
/// does not reset the connection before the answer is read.
async fn refuse(mut stream: TcpStream) {
    let polite = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), polite).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn server(limits: Limits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, limits, None, async {
            let _ = stopped.await;
        }));
        (address, stop)
    }

    async fn read_all(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

    #[tokio::test(start_paused = true)]
    async fn idle_and_half_sent_connections_are_closed_after_the_header_timeout() {
        let (address, _stop) = server(Limits::default()).await;
        let mut idle = TcpStream::connect(address).await.unwrap();
        let mut slow = TcpStream::connect(address).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        // Paused time moves only when every task waits: straight to the server's timer.
        assert_eq!(read_all(&mut idle).await, "", "closed without an answer");
        let _ = read_all(&mut slow).await;
        assert!(
            started.elapsed() >= HEADER_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        assert!(
            started.elapsed() < HEADER_TIMEOUT * 2,
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_is_closed_when_it_idles() {
        let (address, _stop) = server(Limits::default()).await;
        let mut kept = TcpStream::connect(address).await.unwrap();
        kept.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0u8; 512];
        let n = kept.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
        let started = tokio::time::Instant::now();
        assert_eq!(read_all(&mut kept).await, "");
        assert!(
            started.elapsed() >= HEADER_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn past_the_limit_a_connection_is_told_to_come_back_and_others_still_work() {
        let (address, _stop) = server(Limits {
            max_connections: 2,
            header_timeout: HEADER_TIMEOUT,
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(address).await.unwrap();
            // A byte of a request: the server has taken the connection once it reads it.
            stream.write_all(b"G").await.unwrap();
            held.push(stream);
        }
        let mut third = TcpStream::connect(address).await.unwrap();
        third.write_all(GET).await.unwrap();
        let answer = read_all(&mut third).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.ends_with("try again shortly\n"), "{answer}");
        drop(held);
        // Slots come back when the held connections close.
        let mut tries = 0;
        let answer = loop {
            tries += 1;
            assert!(tries < 10_000, "a slot never came back");
            let mut again = TcpStream::connect(address).await.unwrap();
            again.write_all(GET).await.unwrap();
            let answer = read_all(&mut again).await;
            if answer.starts_with("HTTP/1.1 200") {
                break answer;
            }
            tokio::task::yield_now().await;
        };
        assert!(
            answer.ends_with("127.0.0.1"),
            "the client's address reaches handlers: {answer}"
        );
    }
}
