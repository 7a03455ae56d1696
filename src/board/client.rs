//! The board's client: the orderer posts its record, the bank reads an
//! order's records, over [`crate::http`]. `http://` for a board on
//! loopback or a private network, `https://` for one published on the
//! Internet (TLS with the certificate checked against the system's roots
//! and, when given, an extra CA file); one connection per request.
//!
//! A client [`Client::restricted`] to a [`BoardPolicy`] (the bank's)
//! reaches only the boards the policy allows: `https://` at public
//! addresses unless it says otherwise, checked on the addresses the name
//! resolves to, which are the ones it then connects to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::{Request, StatusCode};

use crate::http;
use crate::protocol::OrderId;
use crate::protocol::board::{BoardRecord, CheckedRecord};

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ANSWER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?} is not a board address like https://shop.example/board or http://127.0.0.1:8025/")]
    Url(String),
    #[error("cannot reach the board at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the board at {url} is not read: {reason}")]
    NotAllowed { url: String, reason: String },
    #[error("the board at {url} did not answer within {TIMEOUT:?}")]
    Timeout { url: String },
    #[error("the board refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the board's answer is not a valid record: {0}")]
    Answer(String),
}

/// Where a board URL leads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// The Host header: the URL's authority.
    host: String,
    /// The host alone, the name the certificate must carry.
    name: String,
    /// The path prefix, without a trailing slash.
    prefix: String,
}

fn split(url: &str) -> Result<Target, ClientError> {
    let bad = || ClientError::Url(url.to_string());
    let url = url.trim();
    // Only paths are appended to a board's address: a query or a fragment
    // would carry them somewhere else.
    if url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\')) {
        return Err(bad());
    }
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(bad()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).ok_or_else(bad)?, rest.get(i..).ok_or_else(bad)?),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let name = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        Some(_) if !authority.ends_with(']') => return Err(bad()),
        _ => authority,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Target { tls, host: authority.to_string(), name, prefix: path.trim_end_matches('/').to_string() })
}

/// Which boards a [`Client`] made [`Client::restricted`] may reach. The
/// default reaches only `https://` boards at public addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoardPolicy {
    /// Plain `http://` boards too.
    pub allow_http: bool,
    /// Boards at loopback, private, link-local, unspecified and other
    /// addresses that are not public, checked on every address a name
    /// resolves to.
    pub allow_private: bool,
}

impl BoardPolicy {
    /// Whether `url` may be read under this policy, as far as can be told
    /// without resolving its host name: the scheme, and the address when
    /// the URL gives one. A name is checked on every request, on the
    /// addresses it resolves to then.
    pub fn check_url(self, url: &str) -> Result<(), ClientError> {
        let target = split(url)?;
        self.check_scheme(url, &target)?;
        match target.name.parse::<IpAddr>() {
            Ok(ip) => self.check_address(url, ip),
            Err(_) => Ok(()),
        }
    }

    fn check_scheme(self, url: &str, target: &Target) -> Result<(), ClientError> {
        if target.tls || self.allow_http {
            return Ok(());
        }
        Err(ClientError::NotAllowed {
            url: url.to_string(),
            reason: "it is plain http://, and only https:// boards are allowed here \
                     (the bank's allow_http_boards = true allows http://)"
                .into(),
        })
    }

    fn check_address(self, url: &str, ip: IpAddr) -> Result<(), ClientError> {
        match not_public(ip) {
            Some(what) if !self.allow_private => Err(ClientError::NotAllowed {
                url: url.to_string(),
                reason: format!(
                    "its address {ip} is {what}, not a public address \
                     (the bank's allow_private_boards = true allows such boards)"
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// What `ip` is when it is not a public Internet address: loopback,
/// private, link-local, unspecified, shared, multicast, broadcast, or
/// reserved for documentation, benchmarks or future use. An IPv6 address
/// that embeds an IPv4 one (mapped, NAT64, 6to4) is judged by that one.
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => not_public_v6(v6),
    }
}

fn not_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_documentation() || (a == 198 && (18..20).contains(&b)) || (a, b, c) == (192, 0, 0) {
        Some("an address reserved for documentation, benchmarks or protocols")
    } else if a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

fn not_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return not_public_v4(v4);
    }
    if (s[0], s[1]) == (0x64, 0xff9b) {
        return not_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return not_public_v4(embedded(s[1], s[2]));
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        Some("a private (unique or site-local) address")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if (s[0], s[1]) == (0x2001, 0xdb8) || (s[0], s[1]) == (0x2001, 0) || s[0] == 0x100 || s[0] == 0 {
        Some("a reserved, tunnelled or documentation address")
    } else {
        None
    }
}

/// Talks to boards; `https://` ones are trusted as [`Client::trusting`] says.
#[derive(Debug, Clone)]
pub struct Client {
    http: http::Client,
    /// The boards this client may reach; `None`: wherever it is told.
    policy: Option<BoardPolicy>,
}

impl Default for Client {
    fn default() -> Client {
        Client::trusting(None)
    }
}

impl Client {
    /// A client that trusts the system's roots and, if given, the CA in
    /// `ca_file` (PEM) as well: the same trust as the mail account's.
    pub fn trusting(ca_file: Option<&Path>) -> Client {
        let http = http::Client::trusting(ca_file)
            .allowing_http()
            .with_limits(http::Limits { time: TIMEOUT, max_body: MAX_ANSWER });
        Client { http, policy: None }
    }

    /// This client, reaching only the boards `policy` allows.
    #[must_use]
    pub fn restricted(mut self, policy: BoardPolicy) -> Client {
        self.policy = Some(policy);
        // The connection goes to the addresses the policy checked, not to
        // those of a second lookup.
        self.http = self.http.with_resolver(Arc::new(PolicyResolver { policy }));
        self
    }

    /// Posts the orderer's record to the board at `url`.
    pub async fn post(&self, url: &str, record: &BoardRecord) -> Result<(), ClientError> {
        let body = serde_json::to_vec(record).map_err(|e| ClientError::Answer(e.to_string()))?;
        let (status, answer) = self.request(url, hyper::Method::POST, "/records", body).await?;
        // 200: posted before (a retry after a lost answer).
        if matches!(status, StatusCode::CREATED | StatusCode::OK) {
            Ok(())
        } else {
            Err(refused(status, &answer))
        }
    }

    /// The board's records of `order`, oldest first; none when it has none.
    /// A record that fails its checks (a bad signature) is left out.
    pub async fn fetch(&self, url: &str, order: &OrderId) -> Result<Vec<CheckedRecord>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            order: String,
            records: Vec<BoardRecord>,
        }
        let (status, answer) =
            self.request(url, hyper::Method::GET, &format!("/records/{order}.json"), Vec::new()).await?;
        match status {
            StatusCode::OK => {
                let answer: Answer =
                    serde_json::from_slice(&answer).map_err(|e| ClientError::Answer(e.to_string()))?;
                if answer.order != order.to_string() {
                    let why = format!("it is about order {}, not {order}", answer.order);
                    return Err(ClientError::Answer(why));
                }
                let records = answer.records.iter().filter_map(|r| r.check().ok());
                Ok(records.filter(|r| r.order == *order).collect())
            }
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            other => Err(refused(other, &answer)),
        }
    }

    async fn request(
        &self,
        url: &str,
        method: hyper::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let target = split(url)?;
        if let Some(policy) = self.policy {
            policy.check_scheme(url, &target)?;
        }
        let scheme = if target.tls { "https" } else { "http" };
        let request = Request::builder()
            .method(method)
            .uri(format!("{scheme}://{}{}{path}", target.host, target.prefix))
            .header(hyper::header::HOST, &target.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let connect_err = |reason: String| ClientError::Connect { url: url.to_string(), reason };
        match self.http.send(request).await {
            Ok(answer) => Ok((answer.status(), answer.into_body())),
            Err(http::HttpError::Url { .. }) => Err(ClientError::Url(url.to_string())),
            Err(http::HttpError::NotAllowed { reason, .. }) => {
                Err(ClientError::NotAllowed { url: url.to_string(), reason })
            }
            Err(http::HttpError::Timeout { .. }) => Err(ClientError::Timeout { url: url.to_string() }),
            Err(http::HttpError::Resolve { host, reason }) => {
                Err(connect_err(format!("cannot resolve {host}: {reason}")))
            }
            Err(http::HttpError::Tls { reason, .. }) => Err(connect_err(format!("TLS: {reason}"))),
            Err(http::HttpError::TooLong { limit, .. }) => {
                Err(connect_err(format!("the answer is longer than {limit} bytes (not read further)")))
            }
            Err(http::HttpError::Connect { reason, .. } | http::HttpError::Answer { reason, .. }) => {
                Err(connect_err(reason))
            }
        }
    }
}

/// The system's addresses of a board's host, every one allowed by the policy.
#[derive(Debug)]
struct PolicyResolver {
    policy: BoardPolicy,
}

impl http::Resolve for PolicyResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> http::Resolving<'a> {
        Box::pin(async move {
            let addresses = http::SystemResolver.resolve(host, port).await?;
            for address in &addresses {
                if let Err(e) = self.policy.check_address(host, address.ip()) {
                    let reason = match e {
                        ClientError::NotAllowed { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    return Err(http::ResolveError::NotAllowed(reason));
                }
            }
            Ok(addresses)
        })
    }
}

fn refused(status: StatusCode, body: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    ClientError::Refused { status: status.as_u16(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_board_urls() {
        let target = |url: &str| split(url).map(|t| (t.tls, t.host, t.name, t.prefix)).ok();
        let owned = |tls, h: &str, n: &str, p: &str| Some((tls, h.into(), n.into(), p.into()));
        assert_eq!(target("http://127.0.0.1:8025/"), owned(false, "127.0.0.1:8025", "127.0.0.1", ""));
        assert_eq!(target("http://shop.test/board"), owned(false, "shop.test", "shop.test", "/board"));
        assert_eq!(target("https://shop.test/board/"), owned(true, "shop.test", "shop.test", "/board"));
        assert_eq!(target("https://[::1]:8443"), owned(true, "[::1]:8443", "::1", ""));
        assert_eq!(target("https://[::1]"), owned(true, "[::1]", "::1", ""));
        assert!(split("https://shop.test:http/").is_err());
        assert!(split("ftp://shop.test/").is_err());
        assert!(split("http://user@shop.test/").is_err());
        assert!(split("https:///records").is_err());
        // Only paths are appended: no query, fragment or odd characters.
        assert!(split("http://127.0.0.1:8025/internal/admin/purge?all=yes&x=").is_err());
        assert!(split("https://shop.test/board#").is_err());
        assert!(split("https://shop.test/bo ard").is_err());
        assert!(split("https://shop.test\\@evil.test/").is_err());
    }

    #[test]
    fn tells_public_addresses_from_the_others() {
        let not_public = |ip: &str| not_public(ip.parse().unwrap());
        for public in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111"] {
            assert_eq!(not_public(public), None, "{public}");
        }
        for (ip, what) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("198.18.0.1", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:7f00:1::", "loopback"),
            ("2001:db8::1", "reserved"),
        ] {
            let found = not_public(ip).unwrap_or_else(|| panic!("{ip} taken for public"));
            assert!(found.contains(what), "{ip}: {found}");
        }
    }

    #[test]
    fn a_policy_refuses_http_and_private_addresses_unless_it_allows_them() {
        let strict = BoardPolicy::default();
        assert_eq!(strict.check_url("https://shop.example/board"), Ok(()));
        assert_eq!(strict.check_url("https://93.184.215.14:8443"), Ok(()));
        let refused = strict.check_url("http://shop.example/board").unwrap_err();
        assert!(refused.to_string().contains("allow_http_boards"), "{refused}");
        let refused = strict.check_url("https://127.0.0.1:8025").unwrap_err();
        assert!(
            refused.to_string().contains("loopback") && refused.to_string().contains("allow_private_boards")
        );
        assert!(strict.check_url("https://[::ffff:192.168.0.1]/").is_err());
        let open = BoardPolicy { allow_http: true, allow_private: true };
        assert_eq!(open.check_url("http://127.0.0.1:8025"), Ok(()));
        assert!(matches!(open.check_url("http://127.0.0.1:8025/?x"), Err(ClientError::Url(_))));
    }

    /// A name is judged by the addresses it resolves to: `localhost` is
    /// loopback whatever its spelling, and nothing is connected to.
    #[tokio::test]
    async fn a_restricted_client_judges_names_by_their_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let strict = Client::default().restricted(BoardPolicy { allow_http: true, allow_private: false });
        let order = OrderId::generate(&mut rand::rng());
        for url in [format!("http://localhost:{port}"), format!("http://127.0.0.1:{port}/board")] {
            let err = strict.fetch(&url, &order).await.unwrap_err();
            assert!(
                matches!(&err, ClientError::NotAllowed { reason, .. } if reason.contains("loopback")),
                "{err}"
            );
        }
        let https_only = Client::default().restricted(BoardPolicy { allow_http: false, allow_private: true });
        let err = https_only.fetch(&format!("http://127.0.0.1:{port}"), &order).await.unwrap_err();
        assert!(
            matches!(&err, ClientError::NotAllowed { reason, .. } if reason.contains("http://")),
            "{err}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a refused board was connected to");
    }
}
