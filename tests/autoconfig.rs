//! Finding an address's mail servers against real servers on loopback: a
//! DNS server (dnsmasq from Debian, installed by
//! `tests/mailstack/mailstack.sh install`) started by each test on
//! 127.0.0.1 with a free port and the test domain's records, and an HTTPS
//! server of the test's own (tokio-rustls, a certificate made with the
//! `openssl` command) on 127.0.0.N:443, N different for each test so that
//! the tests run side by side. The lookup asks that DNS server and
//! connects to the addresses it gives, so every step runs end to end:
//! autoconfig, .well-known, SRV, MX and the guess, and the hostile and
//! broken answers each step must survive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mailpay::autoconfig::{self, Discovery, Options, SignIn, Source};
use mailpay::mail::account::Security;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Every name the test certificate is valid for: each test's domain, its
/// autoconfig host, and the MX host domain of the MX test.
const DOMAINS: &[&str] = &[
    "autoconfig-found.test",
    "well-known-found.test",
    "srv-found.test",
    "mx-found.test",
    "mx-domain-found.test",
    "hoster-example.test",
    "guessed.test",
    "slow-server.test",
    "broken-answer.test",
    "hostile-answer.test",
    "plain-only.test",
    "redirected.test",
    "all-slow.test",
    "cli-found.test",
];

// ------------------------------------------------------------ certificates ---

struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a server certificate for every test name, made once.
fn certificates() -> &'static Certificates {
    static MADE: OnceLock<Certificates> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("autoconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=MailPay autoconfig test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &ca);
        let mut request = vec!["req"];
        request.extend(ec);
        request.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=autoconfig test server",
        ]);
        openssl(&dir, &request);
        let names: Vec<String> =
            DOMAINS.iter().flat_map(|d| [format!("DNS:{d}"), format!("DNS:autoconfig.{d}")]).collect();
        let ext = format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            names.join(",")
        );
        std::fs::write(dir.join("server.ext"), ext).unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        Certificates { dir }
    })
}

// --------------------------------------------------------------------- DNS ---

/// dnsmasq on 127.0.0.1 with a free port, answering only from its
/// command line (`--no-resolv --no-hosts`), authoritative for `.test`.
struct Dnsmasq {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl Dnsmasq {
    fn start(records: &[String]) -> Dnsmasq {
        for _ in 0..10 {
            let port = free_port();
            let log = certificates().dir.join(format!("dnsmasq-{port}.log"));
            let mut command = Command::new("dnsmasq");
            command
                .args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null"])
                .args(["--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file", "--user=root"])
                .args(["--local=/test/", "--log-queries", "--log-facility=-"])
                .arg(format!("--port={port}"))
                .args(records)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap());
            let mut child =
                command.spawn().expect("dnsmasq starts (mailstack.sh install installs dnsmasq-base)");
            let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Some(status) = child.try_wait().unwrap() {
                    let said = std::fs::read_to_string(&log).unwrap_or_default();
                    if said.contains("in use") {
                        break;
                    }
                    panic!("dnsmasq ended ({status}): {said}");
                }
                if std::net::TcpStream::connect(address).is_ok() {
                    return Dnsmasq { child, address, log };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start on a free port");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if StdTcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

// ------------------------------------------------------------------- HTTPS ---

/// What the test server answers to a request.
#[derive(Clone, Debug)]
enum Reply {
    Xml(String),
    Status(u16),
    /// Nothing for this long, then the XML.
    Slow(Duration, String),
    /// A body that never ends, sent as fast as it is taken.
    Endless,
    Redirect(String),
}

type Handler = Arc<dyn Fn(&str, &str) -> Reply + Send + Sync>;

/// An HTTPS server on `ip`:443 for every test name; `handler` gets the
/// Host and the path with its query. Requests are kept in `asked`.
struct HttpsServer {
    asked: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpsServer {
    async fn start(ip: &str, handler: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> HttpsServer {
        let certs = certificates();
        let config =
            mailpay::mail::tls::server_config(&certs.dir.join("server.pem"), &certs.dir.join("server.key"))
                .unwrap();
        let acceptor = TlsAcceptor::from(config);
        let listener = TcpListener::bind((ip, 443)).await.expect("bind port 443 (the tests run as root)");
        let handler: Handler = Arc::new(handler);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let (acceptor, handler, log) = (acceptor.clone(), handler.clone(), log.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else { return };
                    let Some((host, path)) = read_head(&mut tls).await else { return };
                    log.lock().unwrap().push(format!("{host}{path}"));
                    answer(&mut tls, handler(&host, &path)).await;
                });
            }
        });
        HttpsServer { asked, task }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

async fn read_head<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<(String, String)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.lines().next()?.split(' ').nth(1)?.to_string();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: ").or_else(|| l.strip_prefix("Host: ")))?
        .trim()
        .to_string();
    Some((host, path))
}

async fn answer<S: AsyncWriteExt + Unpin>(stream: &mut S, reply: Reply) {
    let respond = |status: &str, kind: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let text = match reply {
        Reply::Xml(xml) => respond("200 OK", "text/xml", &xml),
        Reply::Status(code) => respond(&format!("{code} Oops"), "text/html", "<html>server error</html>"),
        Reply::Slow(wait, xml) => {
            tokio::time::sleep(wait).await;
            respond("200 OK", "text/xml", &xml)
        }
        Reply::Redirect(to) => {
            format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("{:x}\r\n<clientConfig>{}\r\n", 8192 + 14, "<".repeat(8192));
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            return;
        }
    };
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}

// ------------------------------------------------------------------ fixtures ---

fn config_xml(imap: &str, imap_socket: &str, smtp: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="test">
    <displayName>Test Mail</displayName>
    <incomingServer type="pop3"><hostname>pop.example.test</hostname><port>995</port><socketType>SSL</socketType></incomingServer>
    <incomingServer type="imap">
      <hostname>{imap}</hostname><port>993</port><socketType>{imap_socket}</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{smtp}</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
    <documentation url="https://help.example.test/imap"><descr lang="en">Turn IMAP on first</descr></documentation>
  </emailProvider>
</clientConfig>"#
    )
}

fn good_xml(domain: &str) -> String {
    config_xml(&format!("imap.{domain}"), "SSL", &format!("smtp.{domain}"))
}

/// dnsmasq records: `domain` and its autoconfig host at `ip`.
fn web_at(domain: &str, ip: &str) -> Vec<String> {
    vec![format!("--address=/{domain}/{ip}")]
}

fn options(dns: &Dnsmasq) -> Options {
    Options {
        step_time: Duration::from_secs(3),
        ca_file: Some(certificates().ca()),
        name_server: Some(dns.address),
        ..Options::default()
    }
}

async fn discover(address: &str, options: &Options) -> (Discovery, Duration) {
    let started = Instant::now();
    let found = autoconfig::discover(&address.parse().unwrap(), options).await;
    (found, started.elapsed())
}

fn failure<'a>(found: &'a Discovery, asked: &str) -> &'a str {
    let failure = found.failures.iter().find(|f| f.asked.contains(asked));
    &failure.unwrap_or_else(|| panic!("no failure for {asked}: {:#?}", found.failures)).reason
}

// --------------------------------------------------------------------- tests ---

#[tokio::test]
async fn found_by_the_domains_autoconfig_server() {
    let domain = "autoconfig-found.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.21"));
    let server = HttpsServer::start("127.0.0.21", move |host, path| match (host, path) {
        ("autoconfig.autoconfig-found.test", p) if p.starts_with("/mail/config-v1.1.xml?") => {
            Reply::Xml(good_xml("autoconfig-found.test"))
        }
        _ => Reply::Status(404),
    })
    .await;
    let (found, _) = discover(&format!("taro+pay@{domain}"), &options(&dns)).await;
    let url = format!("https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress=taro%2Bpay@{domain}");
    assert_eq!(found.source, Source::Autoconfig { url: url.clone() }, "{found}");
    assert_eq!(server.asked(), [url.trim_start_matches("https://")]);
    assert_eq!(found.account.imap.host, "imap.autoconfig-found.test");
    assert_eq!((found.account.imap.port, found.account.imap.security), (993, Security::Tls));
    assert_eq!((found.account.smtp.port, found.account.smtp.security), (587, Security::Starttls));
    assert_eq!(found.account.username, "taro+pay");
    assert_eq!(found.sign_in, [SignIn::Password]);
    assert_eq!(found.provider_name.as_deref(), Some("Test Mail"));
    assert_eq!(found.quirks[0].text, "Turn IMAP on first");
    assert!(found.failures.is_empty(), "{:?}", found.failures);
}

#[tokio::test]
async fn found_under_well_known_when_autoconfig_has_nothing() {
    let domain = "well-known-found.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.22"));
    let _server = HttpsServer::start("127.0.0.22", |host, path| match (host, path) {
        ("well-known-found.test", "/.well-known/autoconfig/mail/config-v1.1.xml") => {
            Reply::Xml(good_xml("well-known-found.test"))
        }
        _ => Reply::Status(404),
    })
    .await;
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    let url = format!("https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml");
    assert_eq!(found.source, Source::WellKnown { url }, "{found}");
    assert!(failure(&found, "autoconfig.well-known-found.test").contains("HTTP 404"), "{found}");
    assert_eq!(found.account.smtp.host, "smtp.well-known-found.test");
}

#[tokio::test]
async fn found_by_srv_records() {
    let domain = "srv-found.test";
    let dns = Dnsmasq::start(&[
        format!("--srv-host=_imaps._tcp.{domain},mail.{domain},993,0,0"),
        // "." : implicit-TLS submission is not offered; STARTTLS is.
        format!("--srv-host=_submissions._tcp.{domain}"),
        format!("--srv-host=_submission._tcp.{domain},smtp.{domain},587,10,5"),
        format!("--srv-host=_submission._tcp.{domain},backup.{domain},587,20,5"),
    ]);
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert_eq!(found.source, Source::Srv, "{found}");
    assert_eq!(
        (found.account.imap.host.as_str(), found.account.imap.port, found.account.imap.security),
        ("mail.srv-found.test", 993, Security::Tls)
    );
    assert_eq!(
        (found.account.smtp.host.as_str(), found.account.smtp.port, found.account.smtp.security),
        ("smtp.srv-found.test", 587, Security::Starttls)
    );
    assert_eq!(found.account.username, "taro@srv-found.test");
    assert!(failure(&found, "_submissions._tcp").contains("not offered"), "{found}");
    assert!(failure(&found, "autoconfig.srv-found.test").contains("no such server"), "{found}");
}

#[tokio::test]
async fn found_by_an_mx_at_a_known_provider() {
    let domain = "mx-found.test";
    let dns = Dnsmasq::start(&[
        format!("--mx-host={domain},mx-found-test.mail.protection.outlook.com,10"),
        format!("--mx-host={domain},backup.mx-found.test,20"),
    ]);
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert_eq!(
        found.source,
        Source::Mx {
            mx_host: "mx-found-test.mail.protection.outlook.com".into(),
            provider: "Microsoft 365".into()
        },
        "{found}"
    );
    assert_eq!(found.account.imap.host, "outlook.office365.com");
    assert_eq!(found.account.smtp.host, "smtp.office365.com");
    assert_eq!(found.oauth2().map(|o| o.issuer.as_str()), Some("login.microsoftonline.com"));
    assert!(found.to_string().contains("handled by Microsoft 365"), "{found}");
    assert!(failure(&found, "_imaps._tcp.mx-found.test").contains("no SRV record"), "{found}");
}

#[tokio::test]
async fn found_by_the_autoconfig_of_the_mx_hosts_domain() {
    let domain = "mx-domain-found.test";
    let mut records = web_at("autoconfig.hoster-example.test", "127.0.0.23");
    records.push(format!("--mx-host={domain},mx1.hoster-example.test,10"));
    let dns = Dnsmasq::start(&records);
    let _server = HttpsServer::start("127.0.0.23", |host, _| match host {
        "autoconfig.hoster-example.test" => Reply::Xml(good_xml("hoster-example.test")),
        _ => Reply::Status(404),
    })
    .await;
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(
        matches!(&found.source, Source::MxDomain { mx_host, url }
            if mx_host == "mx1.hoster-example.test" && url.starts_with("https://autoconfig.hoster-example.test/")),
        "{found}"
    );
    assert_eq!(found.account.imap.host, "imap.hoster-example.test");
}

#[tokio::test]
async fn guessed_when_nothing_answers_with_every_step_told() {
    let domain = "guessed.test";
    let dns = Dnsmasq::start(&[]);
    let (found, elapsed) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(found.is_guess(), "{found}");
    assert_eq!(found.account.imap.host, "imap.guessed.test");
    assert_eq!((found.account.smtp.host.as_str(), found.account.smtp.port), ("smtp.guessed.test", 465));
    let asked: Vec<&str> = found.failures.iter().map(|f| f.asked.as_str()).collect();
    assert_eq!(
        asked,
        [
            "https://autoconfig.guessed.test/mail/config-v1.1.xml?emailaddress=taro@guessed.test",
            "https://guessed.test/.well-known/autoconfig/mail/config-v1.1.xml",
            "SRV _imaps._tcp.guessed.test",
            "SRV _imap._tcp.guessed.test",
            "MX guessed.test",
        ]
    );
    assert!(elapsed < Duration::from_secs(5), "nothing to wait for, yet {elapsed:?}");
    let text = found.to_string();
    assert!(text.contains("a guess from the domain name"), "{text}");
}

/// A server that answers only after 30 s: the step gives up at its limit
/// and the next step finds the settings.
#[tokio::test]
async fn a_slow_server_is_given_up_at_the_step_limit() {
    let domain = "slow-server.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.24"));
    let _server = HttpsServer::start("127.0.0.24", |host, _| match host {
        "autoconfig.slow-server.test" => Reply::Slow(Duration::from_secs(30), good_xml("slow.invalid")),
        _ => Reply::Xml(good_xml("slow-server.test")),
    })
    .await;
    let options = Options { step_time: Duration::from_secs(2), ..options(&dns) };
    let (found, elapsed) = discover(&format!("taro@{domain}"), &options).await;
    assert!(matches!(found.source, Source::WellKnown { .. }), "{found}");
    assert_eq!(failure(&found, "autoconfig.slow-server.test"), "did not answer within 2 s");
    assert!(elapsed < Duration::from_secs(2 + 3), "{elapsed:?}");
    assert!(found.to_string().contains("did not answer within 2 s"), "{found}");
}

/// The whole lookup has a limit too: with each step slow, it stops and
/// settles for a guess.
#[tokio::test]
async fn the_whole_lookup_stops_at_its_limit() {
    let domain = "all-slow.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.25"));
    let _server =
        HttpsServer::start("127.0.0.25", |_, _| Reply::Slow(Duration::from_secs(30), String::new())).await;
    let options =
        Options { step_time: Duration::from_secs(2), total_time: Duration::from_secs(3), ..options(&dns) };
    let (found, elapsed) = discover(&format!("taro@{domain}"), &options).await;
    assert!(found.is_guess(), "{found}");
    assert!(elapsed < Duration::from_secs(3 + 2), "{elapsed:?}");
    let last = failure(&found, "well-known");
    assert!(
        last.starts_with("did not answer within") && !last.contains("2 s"),
        "gets only what is left: {last}"
    );
    assert!(failure(&found, "the lookup").contains("longer than 3 s in all"), "{found}");
}

#[tokio::test]
async fn a_broken_answer_is_told_and_the_chain_goes_on() {
    let domain = "broken-answer.test";
    let mut records = web_at(domain, "127.0.0.26");
    records.push(format!("--mx-host={domain},aspmx.l.google.com,1"));
    let dns = Dnsmasq::start(&records);
    let _server = HttpsServer::start("127.0.0.26", |host, _| match host {
        "autoconfig.broken-answer.test" => Reply::Status(500),
        _ => Reply::Xml("<clientConfig><emailProvider><incomingServer></clientConfig>".into()),
    })
    .await;
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(matches!(&found.source, Source::Mx { provider, .. } if provider == "Gmail"), "{found}");
    assert!(failure(&found, "autoconfig.broken-answer.test").contains("HTTP 500"), "{found}");
    assert!(failure(&found, "well-known").contains("not well-formed XML"), "{found}");
}

/// An endless body stops being read at 64 KiB; XML nested 1000 deep is
/// refused; neither takes the step's time, and the chain goes on.
#[tokio::test]
async fn a_hostile_answer_is_cut_short_and_the_chain_goes_on() {
    let domain = "hostile-answer.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.27"));
    let deep = format!("<clientConfig>{}{}</clientConfig>", "<a>".repeat(1000), "</a>".repeat(1000));
    let _server = HttpsServer::start("127.0.0.27", move |host, _| match host {
        "autoconfig.hostile-answer.test" => Reply::Endless,
        _ => Reply::Xml(deep.clone()),
    })
    .await;
    let options = Options { step_time: Duration::from_secs(10), ..options(&dns) };
    let (found, elapsed) = discover(&format!("taro@{domain}"), &options).await;
    assert!(found.is_guess(), "{found}");
    let endless = failure(&found, "autoconfig.hostile-answer.test");
    assert!(endless.contains("longer than 65536 bytes"), "{endless}");
    let deep = failure(&found, "well-known");
    assert!(deep.contains("nested deeper than 12 levels"), "{deep}");
    assert!(
        elapsed < Duration::from_secs(5),
        "the limits act while reading, not at the time limit: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_configuration_with_only_plain_connections_is_refused() {
    let domain = "plain-only.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.28"));
    let _server = HttpsServer::start("127.0.0.28", |host, _| match host {
        "autoconfig.plain-only.test" => {
            Reply::Xml(config_xml("imap.plain-only.test", "plain", "smtp.plain-only.test"))
        }
        _ => Reply::Status(404),
    })
    .await;
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(found.is_guess(), "{found}");
    let refused = failure(&found, "autoconfig.plain-only.test");
    assert!(refused.contains("refused") && refused.contains("without encryption"), "{refused}");
}

/// Redirects: one to https:// is followed; one to http:// is not, nor a
/// chain longer than two.
#[tokio::test]
async fn redirects_are_followed_only_to_https_and_only_twice() {
    let domain = "redirected.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.29"));
    let server = HttpsServer::start("127.0.0.29", |host, path| match (host, path) {
        ("autoconfig.redirected.test", _) => Reply::Redirect("http://redirected.test/plain.xml".into()),
        (_, "/.well-known/autoconfig/mail/config-v1.1.xml") => Reply::Redirect("/hop1".into()),
        (_, "/hop1") => Reply::Redirect("https://redirected.test/hop2".into()),
        (_, "/hop2") => Reply::Xml(good_xml("redirected.test")),
        _ => Reply::Status(404),
    })
    .await;
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(matches!(found.source, Source::WellKnown { .. }), "{found}");
    let plain = failure(&found, "autoconfig.redirected.test");
    assert!(plain.contains("plain http://redirected.test/plain.xml"), "{plain}");
    assert!(!server.asked().iter().any(|a| a.contains("plain.xml")), "http:// was followed");

    let loop_server = HttpsServer::start("127.0.0.30", |_, path| {
        let next: u32 = path.trim_start_matches("/hop").parse().unwrap_or(0) + 1;
        Reply::Redirect(format!("/hop{next}"))
    })
    .await;
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.30"));
    let (found, _) = discover(&format!("taro@{domain}"), &options(&dns)).await;
    assert!(failure(&found, "autoconfig.redirected.test").contains("redirects more than 2 times"), "{found}");
    assert_eq!(
        loop_server.asked().len(),
        6,
        "three requests for each of two steps: {:?}",
        loop_server.asked()
    );
}

/// The command line: `mailpay account discover` prints what was found.
#[tokio::test]
async fn the_command_line_prints_servers_source_sign_in_and_failures() {
    let domain = "cli-found.test";
    let dns = Dnsmasq::start(&web_at(domain, "127.0.0.31"));
    let _server = HttpsServer::start("127.0.0.31", |host, _| match host {
        "cli-found.test" => Reply::Xml(good_xml("cli-found.test")),
        _ => Reply::Status(503),
    })
    .await;
    let ca = certificates().ca();
    let address = format!("taro@{domain}");
    let args = [
        "account".to_string(),
        "discover".into(),
        "--name-server".into(),
        dns.address.to_string(),
        "--ca-file".into(),
        ca.display().to_string(),
        address,
    ];
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailpay")).args(&args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "provider: Test Mail",
        "IMAP: imap.cli-found.test:993 (TLS)",
        "SMTP: smtp.cli-found.test:587 (STARTTLS)",
        "user name: taro",
        "found in: the settings the mail domain's web site publishes at https://cli-found.test/.well-known/",
        "sign in with: the account's password",
        "note: Turn IMAP on first (https://help.example.test/imap)",
        "tried: https://autoconfig.cli-found.test/mail/config-v1.1.xml?emailaddress=taro@cli-found.test: answered HTTP 503",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
}

// ------------------------------------------------------ README's table ---

/// README's table of providers says what MailPay's own list holds: for
/// every address domain a row names, the list has that provider, its IMAP
/// and SMTP servers are the row's, and its first way of signing in is the
/// row's.
#[test]
fn readme_provider_table_is_the_bundled_list() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split("| provider | addresses | servers found | sign in with | do once |")
        .nth(1)
        .expect("README has the provider table");
    let rows: Vec<&str> = table.lines().skip(2).take_while(|l| l.starts_with('|')).collect();
    assert!(rows.len() >= 15, "only {} rows", rows.len());
    let mut checked = 0;
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let (provider, addresses, servers, sign_in) = (cells[0], cells[1], cells[2], cells[3]);
        // Plain domains only: "hotmail.\*" and "domains with ..." name no one domain.
        let domains = addresses.split([',', ' ']).filter(|d| {
            d.contains('.')
                && !d.contains(['\\', '*', '/'])
                && d.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        });
        for domain in domains {
            let address = format!("someone@{domain}").parse().unwrap();
            let found = autoconfig::bundled(&address)
                .unwrap_or_else(|| panic!("README's {provider} row names {domain}, which the list lacks"));
            for (what, server) in [("IMAP", &found.account.imap), ("SMTP", &found.account.smtp)] {
                let host_port = format!("{}:{}", server.host, server.port);
                let alternatives = servers.replace(" / ", ",").replace(':', " :");
                let named = servers.contains(&host_port)
                    || (alternatives.contains(&server.host)
                        && servers.contains(&format!(":{}", server.port)));
                assert!(named, "{domain}: README says {servers:?}, the list's {what} is {host_port}");
            }
            let first = match found.sign_in.first() {
                Some(SignIn::OAuth2(o)) if o.issuer.contains("google") => "Google sign-in",
                Some(SignIn::OAuth2(_)) => "Microsoft sign-in",
                Some(SignIn::AppPassword) => "app",
                _ => "password",
            };
            assert!(
                sign_in.to_lowercase().contains(&first.to_lowercase()),
                "{domain}: README says {sign_in:?}, the list signs in first with {first:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} domains checked");
}
