//! The outbound address policy: where onduty may send a request that a user's input
//! points at (a webhook contact method today; chat, push and status-page subscribers
//! later).
//!
//! - Loopback, private (RFC 1918, IPv6 ULA), link-local, CGNAT, multicast, unspecified
//!   and other special-purpose addresses are refused unless the operator allows them
//!   (`outbound.allow`: networks, or host names).
//! - The check applies to the address a name resolves to, inside the HTTP client's own
//!   resolver, so the connection goes to the address that was checked: a name that
//!   resolves to a public address when checked and a private one when used (DNS
//!   rebinding) is never looked up twice.
//! - Redirects are not followed, and no proxy from the environment is used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What the operator opened beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    networks: Vec<IpNet>,
    /// Lowercase host names, without a trailing dot.
    hosts: Vec<String>,
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "onduty does not send to {0} (a loopback, private, link-local or other internal address); an operator can allow it with the setting outbound.allow"
    )]
    Internal(String),
    #[error("only http:// and https:// addresses can be sent to")]
    Scheme,
    #[error("the address has no host")]
    NoHost,
}

impl OutboundPolicy {
    /// Reads `outbound.allow`: each entry a network (`10.0.0.0/8`), an address
    /// (`192.168.1.20`) or a host name (`alerts.internal`).
    pub fn parse(allow: &[String]) -> Result<OutboundPolicy, String> {
        let mut policy = OutboundPolicy::default();
        for entry in allow.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                policy.networks.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(ip));
            } else if is_host_name(entry) {
                policy
                    .hosts
                    .push(entry.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "outbound.allow entry '{entry}' is not a network, an address or a host name"
                ));
            }
        }
        Ok(policy)
    }

    /// Whether `ip`, reached under the name `host`, may be sent to.
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        is_public(ip) || self.networks.iter().any(|n| n.contains(&ip)) || self.allows_host(host)
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Checks what can be checked before any lookup: the scheme, and the host when it is
    /// an address (`http://2130706433/` is `127.0.0.1`). Names are checked when resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme);
        }
        let ip = match url.host() {
            None => return Err(Refused::NoHost),
            Some(url::Host::Domain(_)) => return Ok(()),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        };
        let host = url.host_str().unwrap_or_default();
        if self.permits(host, ip) {
            Ok(())
        } else {
            Err(Refused::Internal(canonical(ip).to_string()))
        }
    }

    /// An HTTP client that sends only where this policy permits, and follows no
    /// redirect.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver {
                policy: self.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .expect("an HTTP client with default TLS builds")
    }
}

/// Resolves names with the system resolver and keeps only the addresses the policy
/// permits; the client connects to what is returned, and nothing else.
struct CheckedResolver {
    policy: OutboundPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.permits(&host, a.ip()))
                .collect();
            if permitted.is_empty() {
                // The address itself is not shown: it would map internal names for anyone.
                return Err(Box::new(Refused::Internal(host)) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// The refusal inside a client error, if that is why a request failed.
pub fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r);
        }
        source = e.source();
    }
    None
}

/// `::ffff:127.0.0.1` is `127.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), multicast, unspecified, broadcast, documentation, benchmarking or
/// reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (ULA)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 (embeds IPv4)
        || first == 0x2002 // 6to4 (embeds IPv4)
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]; // IPv4-compatible (deprecated)
    !special
}

fn is_host_name(text: &str) -> bool {
    let text = text.trim_end_matches('.');
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        for (ip, public) in [
            ("127.0.0.1", false),
            ("127.255.0.9", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.254", false),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("240.0.0.1", false),
            ("198.18.0.1", false),
            ("::1", false),
            ("::", false),
            ("fd00::1", false),
            ("fc00::1", false),
            ("fe80::1", false),
            ("ff02::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::127.0.0.1", false),
            ("64:ff9b::7f00:1", false),
            ("2002:7f00:1::", false),
            ("93.184.215.14", true),
            ("8.8.8.8", true),
            ("100.128.0.1", true),
            ("172.32.0.1", true),
            ("2606:4700::6810:84e5", true),
            ("::ffff:8.8.8.8", true),
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(is_public(parsed), public, "{ip}");
        }
    }

    #[test]
    fn every_way_of_writing_loopback_in_a_url_is_refused() {
        let policy = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:8080/api",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0:9/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(
                matches!(policy.check_url(&parsed), Err(Refused::Internal(_))),
                "{url}"
            );
        }
        for url in ["https://hooks.example.com/x", "http://93.184.215.14/"] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(policy.check_url(&parsed), Ok(()), "{url}");
        }
        let ftp = reqwest::Url::parse("ftp://hooks.example.com/").unwrap();
        assert_eq!(policy.check_url(&ftp), Err(Refused::Scheme));
    }

    #[test]
    fn the_operator_opens_networks_and_host_names() {
        let policy = OutboundPolicy::parse(&[
            "10.0.0.0/8".to_owned(),
            "192.168.1.20".to_owned(),
            "Alerts.Internal.".to_owned(),
        ])
        .unwrap();
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(policy.permits("x", ip("10.9.9.9")));
        assert!(policy.permits("x", ip("::ffff:10.9.9.9")));
        assert!(policy.permits("x", ip("192.168.1.20")));
        assert!(!policy.permits("x", ip("192.168.1.21")));
        assert!(policy.permits("alerts.internal", ip("172.20.0.5")));
        assert!(!policy.permits("other.internal", ip("172.20.0.5")));
        assert!(!policy.permits("x", ip("127.0.0.1")));
        assert!(OutboundPolicy::parse(&["not a host!".to_owned()]).is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_before_connecting() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = OutboundPolicy::default().client(Duration::from_secs(5));
        let error = client
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(refusal(&error), Some(Refused::Internal(_))),
            "{error:?}"
        );
        // The request has failed, so any connection it made is already queued.
        let accepted = listener.accept();
        assert!(
            matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "nothing connected to the listener: {accepted:?}"
        );
    }
}
