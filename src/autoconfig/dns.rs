//! DNS for finding mail servers: RFC 6186 SRV records, MX records, and
//! the addresses the HTTPS client connects to, all from one resolver:
//! the system's configuration, or a given name server (tests).
//!
//! Answers are capped at [`MAX_RECORDS`] records, and every name in them
//! is checked before use ([`super::config_xml::valid_host`]).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use super::config_xml::valid_host;
use crate::http::{Resolve, ResolveError, Resolving};

/// The most records of one answer looked at.
pub const MAX_RECORDS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("cannot read the system's DNS settings: {0}")]
    Setup(String),
    #[error("{name} has no {kind} record")]
    NoRecords { name: String, kind: &'static str },
    #[error("the {kind} lookup of {name} failed: {reason}")]
    Failed { name: String, kind: &'static str, reason: String },
    #[error("{name}'s {kind} record names a bad host: {reason}")]
    BadTarget { name: String, kind: &'static str, reason: String },
}

/// A service found by SRV: where it is, or that the domain says it is
/// not offered (a target of ".").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    At { host: String, port: u16 },
    NotOffered,
}

/// One SRV record, as the answer gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Without its final dot; "" for ".".
    pub target: String,
}

/// A DNS resolver for the lookup, cheap to clone.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dns")
    }
}

impl Dns {
    /// The system's resolver configuration (`/etc/resolv.conf`).
    pub fn system(timeout: Duration) -> Result<Dns, DnsError> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| DnsError::Setup(e.to_string()))?;
        limit(builder.options_mut(), timeout);
        Ok(Dns { resolver: builder.build().map_err(|e| DnsError::Setup(e.to_string()))? })
    }

    /// Asks only the name server at `server` (UDP, and TCP for long answers).
    pub fn with_server(server: SocketAddr, timeout: Duration) -> Result<Dns, DnsError> {
        let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
        for connection in &mut name_server.connections {
            connection.port = server.port();
        }
        let config = ResolverConfig::from_name_servers(vec![name_server]);
        let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        limit(builder.options_mut(), timeout);
        Ok(Dns { resolver: builder.build().map_err(|e| DnsError::Setup(e.to_string()))? })
    }

    /// The SRV records of `name`, capped at [`MAX_RECORDS`].
    pub async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, DnsError> {
        let lookup = self.resolver.srv_lookup(fqdn(name)).await.map_err(|e| failed(name, "SRV", &e))?;
        let records: Vec<SrvRecord> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_ascii().trim_end_matches('.').to_ascii_lowercase(),
                }),
                _ => None,
            })
            .take(MAX_RECORDS)
            .collect();
        if records.is_empty() {
            return Err(DnsError::NoRecords { name: name.to_string(), kind: "SRV" });
        }
        Ok(records)
    }

    /// The service `name` (`_imaps._tcp.example.com`) names.
    pub async fn service(&self, name: &str) -> Result<Service, DnsError> {
        pick_srv(name, &self.srv(name).await?)
    }

    /// The MX hosts of `domain`, most preferred first, at most [`MAX_RECORDS`].
    pub async fn mx(&self, domain: &str) -> Result<Vec<String>, DnsError> {
        let lookup = self.resolver.mx_lookup(fqdn(domain)).await.map_err(|e| failed(domain, "MX", &e))?;
        let found: Vec<(u16, String)> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect();
        order_mx(domain, &found)
    }

    /// The addresses of `host`, at most [`MAX_RECORDS`].
    pub async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, DnsError> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let lookup = self.resolver.lookup_ip(fqdn(host)).await.map_err(|e| failed(host, "address", &e))?;
        let found: Vec<SocketAddr> =
            lookup.iter().take(MAX_RECORDS).map(|ip| SocketAddr::new(ip, port)).collect();
        if found.is_empty() {
            return Err(DnsError::NoRecords { name: host.to_string(), kind: "address" });
        }
        Ok(found)
    }
}

impl Resolve for Dns {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a> {
        Box::pin(async move {
            self.addresses(host, port).await.map_err(|e| ResolveError::NotFound(e.to_string()))
        })
    }
}

fn limit(options: &mut ResolverOpts, timeout: Duration) {
    options.timeout = timeout;
    options.attempts = 1;
}

/// `name` with a final dot: no search domain is appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

fn failed(name: &str, kind: &'static str, e: &NetError) -> DnsError {
    if e.is_no_records_found() || e.is_nx_domain() {
        DnsError::NoRecords { name: name.to_string(), kind }
    } else {
        DnsError::Failed { name: name.to_string(), kind, reason: e.to_string() }
    }
}

/// The service the SRV records of `name` give: the lowest priority, and
/// within it the highest weight (RFC 2782 picks by weighted chance; one
/// fixed choice keeps the result the same on every lookup). Only the
/// first [`MAX_RECORDS`] records are looked at.
pub fn pick_srv(name: &str, records: &[SrvRecord]) -> Result<Service, DnsError> {
    let best = records
        .iter()
        .take(MAX_RECORDS)
        .min_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)))
        .ok_or_else(|| DnsError::NoRecords { name: name.to_string(), kind: "SRV" })?;
    if best.target.is_empty() {
        return Ok(Service::NotOffered);
    }
    let bad =
        |reason: &str| DnsError::BadTarget { name: name.to_string(), kind: "SRV", reason: reason.into() };
    valid_host(&best.target).map_err(bad)?;
    if best.port == 0 {
        return Err(bad("its port is 0"));
    }
    Ok(Service::At { host: best.target.clone(), port: best.port })
}

/// The MX hosts of an answer, most preferred first; only the first
/// [`MAX_RECORDS`] records are looked at, and a null MX (".", RFC 7505:
/// the domain takes no mail) is left out.
pub fn order_mx(domain: &str, records: &[(u16, String)]) -> Result<Vec<String>, DnsError> {
    let mut found: Vec<&(u16, String)> = records.iter().take(MAX_RECORDS).collect();
    found.sort();
    let mut hosts = Vec::new();
    for (_, host) in found {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            continue;
        }
        if let Err(why) = valid_host(&host) {
            return Err(DnsError::BadTarget { name: domain.to_string(), kind: "MX", reason: why.into() });
        }
        hosts.push(host);
    }
    if hosts.is_empty() {
        return Err(DnsError::NoRecords { name: domain.to_string(), kind: "MX" });
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord { priority, weight, port, target: target.into() }
    }

    #[test]
    fn picks_the_lowest_priority_then_the_highest_weight() {
        let records =
            [record(20, 0, 993, "b.test"), record(10, 1, 993, "c.test"), record(10, 5, 994, "a.test")];
        assert_eq!(pick_srv("n", &records), Ok(Service::At { host: "a.test".into(), port: 994 }));
        assert_eq!(pick_srv("n", &[record(0, 0, 0, "")]), Ok(Service::NotOffered));
        assert!(matches!(pick_srv("n", &[]), Err(DnsError::NoRecords { .. })));
        assert!(matches!(pick_srv("n", &[record(0, 0, 0, "a.test")]), Err(DnsError::BadTarget { .. })));
        let bad = pick_srv("n", &[record(0, 0, 993, "a b.test")]).unwrap_err();
        assert!(bad.to_string().contains("spaces"), "{bad}");
    }

    #[test]
    fn orders_mx_hosts_and_looks_at_no_more_than_the_cap() {
        let mut records: Vec<(u16, String)> = (0..40).map(|i| (50, format!("mx{i}.test."))).collect();
        records[3].0 = 10;
        records[MAX_RECORDS + 5].0 = 0;
        let hosts = order_mx("d.test", &records).unwrap();
        assert_eq!(hosts.len(), MAX_RECORDS);
        assert_eq!(hosts[0], "mx3.test");
        assert!(!hosts.contains(&format!("mx{}.test", MAX_RECORDS + 5)));
        let null = order_mx("d.test", &[(0, ".".into())]).unwrap_err();
        assert!(matches!(null, DnsError::NoRecords { .. }), "{null}");
        let bad = order_mx("d.test", &[(0, "a b.test.".into())]).unwrap_err();
        assert!(matches!(bad, DnsError::BadTarget { .. }), "{bad}");
    }

    /// A long answer is cut at MAX_RECORDS: a record after that is not
    /// looked at, however good.
    #[test]
    fn looks_at_no_more_than_the_cap() {
        let mut records: Vec<SrvRecord> =
            (0..40).map(|i| record(50, 0, 993, &format!("h{i}.test"))).collect();
        if let Some(late) = records.get_mut(MAX_RECORDS + 5) {
            late.priority = 0;
        }
        assert_eq!(pick_srv("n", &records), Ok(Service::At { host: "h0.test".into(), port: 993 }));
    }
}
