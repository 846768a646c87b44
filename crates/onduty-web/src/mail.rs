//! Inbound e-mail: an SMTP listener (smtp-proto reads the commands) that takes mail for
//! `<integration key>@<domain>`. Unknown recipients are refused at `RCPT`; a message over
//! 1 MB is refused; an accepted message becomes an event (`onduty_core::mail`), stored
//! before the `250`, or a success ping for a heartbeat's key. `451` asks the sender to
//! retry when the database is unavailable. With a certificate configured, `STARTTLS`
//! (RFC 3207) is offered and the session starts over inside TLS.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::event::{AlertEvent, Parsed};
use onduty_core::heartbeat::{self, Ping, PingBody};
use onduty_core::mail::{MAX_MESSAGE_BYTES, MailRules, event_from_mail};
use onduty_core::service::IntegrationKind;
use onduty_core::{EventId, RoutingKey};
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as SmtpError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::SharedState;
use crate::tls::MailTls;

/// A client silent this long is let go.
const IDLE: Duration = Duration::from_secs(60);
/// The longest a session may last, however slowly it trickles.
const SESSION_LIMIT: Duration = Duration::from_secs(10 * 60);
/// Refused recipients before a session is ended (guessing keys costs a connection).
const MAX_REFUSED: usize = 10;
/// Most recipients of one message.
const MAX_RECIPIENTS: usize = 20;

/// Most SMTP sessions at once; more are told to come back later.
const MAX_SESSIONS: usize = 64;
/// Most SMTP sessions at once from one client address, so that no client can take them
/// all.
const MAX_SESSIONS_PER_CLIENT: usize = 8;

/// Sessions open per client address.
#[derive(Default)]
struct PerClient(std::sync::Mutex<HashMap<IpAddr, usize>>);

/// One session counted against its client; uncounted when dropped.
struct ClientSlot {
    counts: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    fn take(self: &Arc<Self>, client: IpAddr) -> Option<ClientSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = counts.entry(client).or_default();
        if *open >= MAX_SESSIONS_PER_CLIENT {
            return None;
        }
        *open += 1;
        Some(ClientSlot {
            counts: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = counts.get_mut(&self.client) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// Accepts connections until shutdown begins.
pub(crate) async fn serve(
    listener: TcpListener,
    state: SharedState,
    domain: String,
    tls: Option<MailTls>,
) {
    let mut closing = state.closing.subscribe();
    let sessions = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    let per_client: Arc<PerClient> = Arc::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((mut stream, peer)) => {
                    let Some(slot) = per_client.take(peer.ip()) else {
                        let _ = write(&mut stream, "421 4.7.0 Too many connections from your address; try again later").await;
                        continue;
                    };
                    let Ok(permit) = sessions.clone().try_acquire_owned() else {
                        let _ = write(&mut stream, "421 4.7.0 Too many connections; try again later").await;
                        continue;
                    };
                    let state = state.clone();
                    let domain = domain.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(stream, peer, state, domain, tls).await {
                            tracing::debug!(error = %e, %peer, "an SMTP session ended early");
                        }
                        drop(permit);
                        drop(slot);
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot accept an SMTP connection"),
            },
            _ = closed(&mut closing) => return,
        }
    }
}

/// Resolves once shutdown has begun.
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    while !*closing.borrow_and_update() {
        if closing.changed().await.is_err() {
            return;
        }
    }
}

/// Where a recipient's mail goes.
enum Recipient {
    Integration {
        key: RoutingKey,
        rules: MailRules,
    },
    Heartbeat {
        id: onduty_core::HeartbeatId,
        key: RoutingKey,
    },
}

impl Recipient {
    fn key(&self) -> &RoutingKey {
        match self {
            Recipient::Integration { key, .. } | Recipient::Heartbeat { key, .. } => key,
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, line: &str) -> std::io::Result<()> {
    stream.write_all(format!("{line}\r\n").as_bytes()).await?;
    // Inside TLS a written reply may wait in a buffer: send it before reading on.
    stream.flush().await
}

/// What a session may spend, across `STARTTLS`.
struct Limits {
    deadline: tokio::time::Instant,
    refused: usize,
}

/// How a conversation ended.
enum Ended {
    Closed,
    /// The client asked for TLS and was told to go ahead.
    StartTls,
}

async fn session(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: SharedState,
    domain: String,
    tls: Option<MailTls>,
) -> std::io::Result<()> {
    write(&mut stream, &format!("220 {domain} onduty ESMTP ready")).await?;
    let mut limits = Limits {
        deadline: tokio::time::Instant::now() + SESSION_LIMIT,
        refused: 0,
    };
    let offer = tls.is_some();
    match converse(&mut stream, peer, &state, &domain, offer, &mut limits).await? {
        Ended::Closed => Ok(()),
        Ended::StartTls => {
            let Some(config) = tls else {
                return Ok(());
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(config.config.clone());
            let handshake = tokio::time::timeout(IDLE, acceptor.accept(stream)).await;
            let mut secure = handshake.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })??;
            // RFC 3207: everything known before is forgotten; the client greets again.
            converse(&mut secure, peer, &state, &domain, false, &mut limits).await?;
            secure.shutdown().await.ok();
            Ok(())
        }
    }
}

/// One SMTP conversation on `stream`, in plain text or inside TLS. `offer_tls`: whether
/// `STARTTLS` is offered (configured, and not already in TLS).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    state: &SharedState,
    domain: &str,
    offer_tls: bool,
    limits: &mut Limits,
) -> std::io::Result<Ended> {
    let mut stream = stream;
    let mut requests = RequestReceiver::default();
    let mut data: Option<(DataReceiver, Vec<u8>, bool)> = None;
    let mut recipients: Vec<Recipient> = Vec::new();
    let mut sender = false;
    let mut buf = vec![0u8; 8192];
    // A session ends when shutdown begins, so that it never holds the server up.
    let mut closing = state.closing.subscribe();
    let deadline = limits.deadline;
    loop {
        let read = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                write(&mut stream, "421 4.4.2 Session too long; closing").await?;
                return Ok(Ended::Closed);
            }
            read = tokio::time::timeout(IDLE, stream.read(&mut buf)) => read,
            _ = closed(&mut closing) => {
                write(&mut stream, "421 4.3.2 Shutting down; try again later").await?;
                return Ok(Ended::Closed);
            }
        };
        let n = match read {
            Ok(Ok(0)) | Err(_) => return Ok(Ended::Closed),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e),
        };
        let mut bytes = buf[..n].iter();
        loop {
            if let Some((receiver, message, too_big)) = &mut data {
                let mut chunk = Vec::new();
                let done = receiver.ingest(&mut bytes, &mut chunk);
                if message.len() + chunk.len() > MAX_MESSAGE_BYTES {
                    *too_big = true;
                } else {
                    message.extend_from_slice(&chunk);
                }
                if !done {
                    break;
                }
                let (_, message, too_big) = data.take().expect("in DATA");
                let reply = if too_big {
                    format!(
                        "552 5.3.4 Message over {} KB refused",
                        MAX_MESSAGE_BYTES / 1024
                    )
                } else {
                    deliver(state, &recipients, &message).await
                };
                crate::metrics::count_ingest("mail", mail_outcome(&reply));
                recipients.clear();
                sender = false;
                write(&mut stream, &reply).await?;
                continue;
            }
            let request = match requests.ingest(&mut bytes) {
                Ok(r) => r,
                Err(SmtpError::NeedsMoreData { .. }) => break,
                Err(SmtpError::UnknownCommand) => {
                    write(&mut stream, "500 5.5.1 Unknown command").await?;
                    continue;
                }
                Err(e) => {
                    write(&mut stream, &format!("501 5.5.4 Syntax error: {e:?}")).await?;
                    continue;
                }
            };
            match request {
                Request::Ehlo { .. } => {
                    write(&mut stream, &format!("250-{domain} hello")).await?;
                    write(&mut stream, &format!("250-SIZE {MAX_MESSAGE_BYTES}")).await?;
                    write(&mut stream, "250-8BITMIME").await?;
                    if offer_tls {
                        write(&mut stream, "250-STARTTLS").await?;
                    }
                    write(&mut stream, "250 ENHANCEDSTATUSCODES").await?;
                }
                Request::Helo { .. } | Request::Lhlo { .. } => {
                    write(&mut stream, &format!("250 {domain} hello")).await?;
                }
                Request::Mail { from } => {
                    if from.size > MAX_MESSAGE_BYTES {
                        write(&mut stream, "552 5.3.4 Message too big").await?;
                    } else {
                        sender = true;
                        recipients.clear();
                        write(&mut stream, "250 2.1.0 OK").await?;
                    }
                }
                Request::Rcpt { to } => {
                    let reply = if !sender {
                        "503 5.5.1 MAIL first".to_owned()
                    } else if recipients.len() >= MAX_RECIPIENTS {
                        "452 4.5.3 Too many recipients".to_owned()
                    } else {
                        match recipient(state, &to.address, domain).await {
                            Ok(r) => {
                                recipients.push(r);
                                "250 2.1.5 OK".to_owned()
                            }
                            Err(reply) => {
                                limits.refused += 1;
                                if limits.refused >= MAX_REFUSED {
                                    write(&mut stream, &reply).await?;
                                    write(
                                        &mut stream,
                                        "421 4.7.0 Too many unknown recipients; closing",
                                    )
                                    .await?;
                                    return Ok(Ended::Closed);
                                }
                                reply
                            }
                        }
                    };
                    write(&mut stream, &reply).await?;
                }
                Request::Data => {
                    if recipients.is_empty() {
                        write(&mut stream, "503 5.5.1 RCPT first").await?;
                    } else {
                        // As if a line had just ended: a first line of "." ends the
                        // message, and a first line starting ".." is unstuffed.
                        let mut receiver = DataReceiver::new();
                        receiver.ingest(&mut b"\r\n".iter(), &mut Vec::new());
                        data = Some((receiver, Vec::new(), false));
                        write(&mut stream, "354 End data with <CR><LF>.<CR><LF>").await?;
                    }
                }
                Request::Rset => {
                    recipients.clear();
                    sender = false;
                    write(&mut stream, "250 2.0.0 OK").await?;
                }
                Request::Noop { .. } => write(&mut stream, "250 2.0.0 OK").await?,
                Request::Quit => {
                    write(&mut stream, "221 2.0.0 Bye").await?;
                    return Ok(Ended::Closed);
                }
                Request::StartTls if offer_tls => {
                    write(&mut stream, "220 2.0.0 Ready to start TLS").await?;
                    // Whatever the client sent after STARTTLS in plain text is dropped
                    // unread: only what comes inside TLS counts (RFC 3207, section 4.2).
                    return Ok(Ended::StartTls);
                }
                other => {
                    tracing::debug!(%peer, command = other.name(), "SMTP command not offered");
                    write(&mut stream, "502 5.5.1 Command not implemented").await?;
                }
            }
        }
    }
}

/// Who `address` is, or the reply refusing it.
async fn recipient(state: &SharedState, address: &str, domain: &str) -> Result<Recipient, String> {
    let unknown = || format!("550 5.1.1 <{address}>: no such integration here");
    let (local, host) = address.rsplit_once('@').ok_or_else(unknown)?;
    if !host.eq_ignore_ascii_case(domain) {
        return Err(format!(
            "550 5.1.2 <{address}>: onduty takes mail for {domain} only"
        ));
    }
    let key = RoutingKey::parse(&local.to_ascii_lowercase()).map_err(|_| unknown())?;
    let integration = match state.store.integration_by_routing_key(&key).await {
        Ok(Some(i)) => i,
        Ok(None) => return Err(unknown()),
        Err(e) => {
            tracing::error!(error = %e, "cannot look a mail recipient up");
            return Err("451 4.3.0 Try again later".to_owned());
        }
    };
    if integration.kind == IntegrationKind::Heartbeat {
        return match state.store.heartbeat_by_key(&key).await {
            Ok(Some(h)) => Ok(Recipient::Heartbeat { id: h.id, key }),
            Ok(None) => Err(unknown()),
            Err(_) => Err("451 4.3.0 Try again later".to_owned()),
        };
    }
    Ok(Recipient::Integration {
        key,
        rules: integration.settings.mail.unwrap_or_default(),
    })
}

/// What the answer to a message means, in a word, for counting.
fn mail_outcome(reply: &str) -> &'static str {
    match reply.get(..3) {
        Some("250") => "accepted",
        Some("552") => "too_large",
        Some("451") => "unavailable",
        _ => "invalid",
    }
}

/// Stores what a message means for each recipient; the reply says how it went. Every
/// recipient's event is read before anything is stored, and heartbeats' pings are recorded
/// only once the events are stored.
async fn deliver(state: &SharedState, recipients: &[Recipient], message: &[u8]) -> String {
    let now = state.clock.now();
    let mut events: Vec<(Parsed<AlertEvent>, HandedIn)> = Vec::new();
    let mut pings = Vec::new();
    for r in recipients {
        match r {
            Recipient::Integration { key, rules } => {
                match event_from_mail(message, key.as_str(), rules) {
                    Ok(mail) => events.push((mail.event, HandedIn::BySender)),
                    Err(why) => return format!("554 5.6.0 The message cannot be read: {why}"),
                }
            }
            Recipient::Heartbeat { id, key } => match state.store.heartbeat(*id).await {
                Ok(h) => {
                    // The recovery is the heartbeat's own event, as for an HTTP ping.
                    if h.state.is_down() {
                        events.push((
                            Parsed {
                                value: heartbeat::resolve_event(key.as_str()),
                                warnings: Vec::new(),
                            },
                            HandedIn::ByOnduty,
                        ));
                    }
                    pings.push(*id);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read a heartbeat");
                    return "451 4.3.0 Try again later".to_owned();
                }
            },
        }
    }
    let jobs = events.into_iter().map(|(event, from)| {
        state.writer.submit(Received {
            id: EventId::new(now),
            received_at: now,
            event: Inbound::Alert(event.value),
            warnings: event.warnings,
            from,
        })
    });
    for result in futures::future::join_all(jobs).await {
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(rejected)) => {
                // Retrying would change nothing: refuse for good.
                tracing::error!(error = %rejected, "a mail's event was refused");
                return format!("554 5.7.1 Refused: {rejected}");
            }
            Err(e) => {
                tracing::warn!(error = %e, "a mail was not stored");
                return "451 4.3.0 Not stored; try again later".to_owned();
            }
        }
    }
    // Every key the message was sent to is hidden from what is kept.
    let keys: Vec<&str> = recipients.iter().map(|r| r.key().as_str()).collect();
    let body = PingBody::of_mail(message, &keys);
    for id in pings {
        if let Err(e) = state.store.record_ping(id, Ping::Success, &body, now).await {
            tracing::error!(error = %e, "cannot record a ping by mail");
            return "451 4.3.0 Try again later".to_owned();
        }
    }
    state.wake.notify_one();
    "250 2.0.0 Accepted".to_owned()
}
