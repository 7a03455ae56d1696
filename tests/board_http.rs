//! The bulletin board over real HTTP on loopback, with its SQLite file:
//! posting and reading, every bad post refused with a clear 4xx, tampering
//! with the stored file detected, and the page rendered by headless
//! Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mailpay::board::client;
use mailpay::board::log::{BoardLog, LogError};
use mailpay::board::server::{self, Board, Limits};
use mailpay::mail::tls;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::cheque::WalletKey;
use mailpay::protocol::{OrderId, Timestamp};
use tokio_rustls::TlsAcceptor;

struct Running {
    runtime: tokio::runtime::Runtime,
    url: String,
    db: PathBuf,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-board-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(name: &str, limits: Limits) -> Running {
    start_serving(name, limits, None)
}

fn start_serving(name: &str, limits: Limits, tls: Option<TlsAcceptor>) -> Running {
    let db = temp_dir(name).join("board.sqlite");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let board = Board::new(BoardLog::open(&db).unwrap(), limits, "Orders at shop@shop.test <&>".into());
    runtime.spawn(server::serve(listener, board, tls));
    Running { runtime, url, db }
}

/// A private CA and a certificate it signed for 127.0.0.1, made with the
/// openssl command: (CA file, certificate, private key).
fn certificate_for_loopback(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let file = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (ca_key, ca, key, csr, cert, ext) = (
        file("ca.key"),
        file("ca.pem"),
        file("board.key"),
        file("board.csr"),
        file("board.pem"),
        file("board.ext"),
    );
    std::fs::write(&ext, "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n").unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().expect("openssl (Debian package openssl)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca_args = ["-days", "2", "-subj", "/CN=board test CA", "-keyout", &ca_key, "-out", &ca];
    openssl(&[&["req", "-x509"][..], &p256, &ca_args].concat());
    openssl(
        &[&["req", "-new"][..], &p256, &["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &csr]].concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-set_serial",
        "1",
        "-days",
        "2",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    (ca.into(), cert.into(), key.into())
}

/// The orderer's wallet key in these tests.
fn key() -> WalletKey {
    WalletKey::from_seed(&[1; 32])
}

/// A record for a new order, signed with [`key`].
fn record(initials: &str) -> BoardRecord {
    signed_by(&key(), &OrderId::generate(&mut rand::rng()).to_string(), initials)
}

fn signed_by(key: &WalletKey, order: &str, initials: &str) -> BoardRecord {
    BoardRecord::signed(order, initials, "2026-11-25T18:09:18Z", key)
}

/// One raw HTTP/1.1 exchange; returns (status, body).
fn http(url: &str, request: &str) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn post_raw(url: &str, body: &str) -> (u16, String) {
    let request = format!(
        "POST /records HTTP/1.1\r\nHost: board\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    http(url, &request)
}

fn error_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"].as_str().unwrap_or_else(|| panic!("no error field: {body}")).to_string()
}

#[test]
fn posts_and_reads_records_as_json() {
    let board = start("json", Limits::default());
    let first = record("T.S.");
    board.runtime.block_on(client::Client::default().post(&board.url, &first)).unwrap();
    let second = record("山田");
    board.runtime.block_on(client::Client::default().post(&board.url, &second)).unwrap();
    let order: OrderId = first.order.parse().unwrap();
    let found = board.runtime.block_on(client::Client::default().fetch(&board.url, &order)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].initials, "T.S.");
    assert_eq!(
        found[0].signed.as_ref().map(|(k, _)| *k),
        Some(key().public()),
        "signed by the orderer's key"
    );
    let unknown = OrderId::generate(&mut rand::rng());
    assert_eq!(
        board.runtime.block_on(client::Client::default().fetch(&board.url, &unknown)).unwrap(),
        vec![]
    );
    let (status, body) =
        http(&board.url, "GET /records.json HTTP/1.1\r\nHost: board\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["count"], 2);
    let records = list["records"].as_array().unwrap();
    assert_eq!(records[1]["initials"], "山田");
    assert_eq!(list["head"], records[1]["hash"], "the head is the last record's hash");
    assert!(!body.contains("poster") && !body.contains("127.0.0.1"), "posters' addresses are not published");
}

/// A board published over HTTPS: the client checks its certificate
/// against the roots it trusts (the system's, plus the CA file it is given,
/// as a mail account's), and talks plain HTTP to no HTTPS board.
#[test]
fn a_board_served_over_https_is_read_only_by_clients_that_trust_it() {
    let dir = temp_dir("tls-certificates");
    let (ca, cert, key) = certificate_for_loopback(&dir);
    let acceptor = TlsAcceptor::from(tls::server_config(&cert, &key).unwrap());
    let board = start_serving("tls", Limits::default(), Some(acceptor));
    assert!(board.url.starts_with("https://127.0.0.1:"), "{}", board.url);
    let trusting = client::Client::trusting(Some(&ca));
    let posted = record("T.S.");
    board.runtime.block_on(trusting.post(&board.url, &posted)).unwrap();
    let order: OrderId = posted.order.parse().unwrap();
    let found = board.runtime.block_on(trusting.fetch(&board.url, &order)).unwrap();
    assert_eq!(found.iter().map(|r| r.to_record()).collect::<Vec<_>>(), [posted]);

    // The system's roots alone do not vouch for the private CA.
    let err = board.runtime.block_on(client::Client::default().fetch(&board.url, &order)).unwrap_err();
    assert!(
        matches!(&err, client::ClientError::Connect { reason, .. } if reason.contains("certificate")),
        "{err}"
    );
    // Plain HTTP to the HTTPS port gets no answer, and nothing is posted.
    let plain = board.url.replacen("https://", "http://", 1);
    let second = record("K.Y.");
    assert!(board.runtime.block_on(trusting.post(&plain, &second)).is_err());
    let second_order: OrderId = second.order.parse().unwrap();
    assert_eq!(board.runtime.block_on(trusting.fetch(&board.url, &second_order)).unwrap(), vec![]);
    // A key that is not the certificate's is refused when the board starts.
    let (_, other_cert, _) = certificate_for_loopback(&temp_dir("tls-other"));
    let mismatch = tls::server_config(&other_cert, &key).unwrap_err();
    assert!(mismatch.to_string().contains("do not go together"), "{mismatch}");
}

#[test]
fn bad_posts_get_clear_errors() {
    let board = start("errors", Limits { posts_per_window: 100, ..Limits::default() });
    let good = record("T.S.");
    let json = serde_json::to_string(&good).unwrap();
    assert_eq!(post_raw(&board.url, &json).0, 201);

    // The same record again (a retry after a lost answer) is taken once.
    let (status, body) = post_raw(&board.url, &json);
    assert_eq!(status, 200, "{body}");
    assert_eq!(BoardLog::open(&board.db).unwrap().entries().unwrap().len(), 1, "not added twice");
    // Another record of the same order with the same key is refused...
    let (status, body) =
        post_raw(&board.url, &serde_json::to_string(&signed_by(&key(), &good.order, "T.K.")).unwrap());
    assert_eq!(status, 409);
    assert!(error_of(&body).contains("already has another record with this key"), "{body}");
    // ... but one with another key (or unsigned) is not kept off by it.
    let stranger = WalletKey::from_seed(&[2; 32]);
    assert_eq!(
        post_raw(&board.url, &serde_json::to_string(&signed_by(&stranger, &good.order, "X.Y.")).unwrap()).0,
        201
    );
    let mut unsigned = good.clone();
    (unsigned.key, unsigned.signature) = (None, None);
    assert_eq!(post_raw(&board.url, &serde_json::to_string(&unsigned).unwrap()).0, 201);
    let order: OrderId = good.order.parse().unwrap();
    assert_eq!(board.runtime.block_on(client::Client::default().fetch(&board.url, &order)).unwrap().len(), 3);

    // A signature that does not fit the record, or half a signature.
    let mut altered = good.clone();
    altered.initials = "T.K.".into();
    let (status, body) = post_raw(&board.url, &serde_json::to_string(&altered).unwrap());
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("signature is not valid"), "{body}");
    let mut half = record("T.S.");
    half.signature = None;
    let (status, body) = post_raw(&board.url, &serde_json::to_string(&half).unwrap());
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("both key and signature"), "{body}");

    let (status, body) = post_raw(
        &board.url,
        &format!("{{\"order\":\"{}\",\"initials\":\"{}\"}}", good.order, "x".repeat(2000)),
    );
    assert_eq!(status, 413);
    assert!(error_of(&body).contains("at most 1024 bytes"), "{body}");

    let (status, body) = post_raw(&board.url, "{not json");
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("not JSON"), "{body}");

    let mut with_a = serde_json::to_value(record("T.S.")).unwrap();
    with_a["password_a"] = "7KQ3-M9ZX-P2VD-H4TR-B8NC-QWER-TY".into();
    let (status, body) = post_raw(&board.url, &with_a.to_string());
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("never password A"), "{body}");

    let (status, body) = post_raw(&board.url, &serde_json::to_string(&record("T.S.123")).unwrap());
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("initials"), "{body}");

    let mut bad_order = record("T.S.");
    bad_order.order = "not-an-order".into();
    let (status, body) = post_raw(&board.url, &serde_json::to_string(&bad_order).unwrap());
    assert_eq!(status, 400);
    assert!(!error_of(&body).is_empty());

    let (status, body) =
        http(&board.url, "DELETE /records HTTP/1.1\r\nHost: board\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    assert!(error_of(&body).contains("POST /records"), "{body}");
    assert_eq!(http(&board.url, "GET /nothing HTTP/1.1\r\nHost: board\r\nConnection: close\r\n\r\n").0, 404);
}

#[test]
fn a_flood_from_one_address_is_refused() {
    let board = start("flood", Limits { posts_per_window: 3, ..Limits::default() });
    for _ in 0..3 {
        assert_eq!(post_raw(&board.url, &serde_json::to_string(&record("T.S.")).unwrap()).0, 201);
    }
    let (status, body) = post_raw(&board.url, &serde_json::to_string(&record("T.S.")).unwrap());
    assert_eq!(status, 429);
    assert!(error_of(&body).contains("too many posts from 127.0.0.1"), "{body}");
    let err =
        board.runtime.block_on(client::Client::default().post(&board.url, &record("T.S."))).unwrap_err();
    assert!(matches!(err, client::ClientError::Refused { status: 429, .. }), "{err}");
}

fn filled_log(name: &str, n: usize) -> PathBuf {
    let path = temp_dir(name).join("board.sqlite");
    let mut log = BoardLog::open(&path).unwrap();
    for i in 0..n {
        let r = record("T.S.").check().unwrap();
        log.append(&r, "127.0.0.1", Timestamp(1_795_000_000 + i as i64)).unwrap();
    }
    path
}

fn sql(path: &Path, statements: &str) -> rusqlite::Result<()> {
    rusqlite::Connection::open(path)?.execute_batch(statements)
}

#[test]
fn the_log_is_append_only_and_tampering_is_detected() {
    let path = filled_log("tamper", 3);
    assert_eq!(BoardLog::open(&path).unwrap().entries().unwrap().len(), 3);
    // Plain SQL cannot change or remove a record.
    let refused = sql(&path, "UPDATE record SET initials = 'X.Y.' WHERE seq = 2").unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    assert!(sql(&path, "DELETE FROM record WHERE seq = 3").unwrap_err().to_string().contains("append-only"));
    // Whoever drops the triggers and edits the file breaks the chain.
    sql(&path, "DROP TRIGGER record_no_update; UPDATE record SET initials = 'X.Y.' WHERE seq = 2").unwrap();
    match BoardLog::open(&path) {
        Err(LogError::Tampered { seq, .. }) => assert_eq!(seq, 2),
        other => panic!("an edited record must be detected, got {other:?}"),
    }
    let path = filled_log("remove", 3);
    sql(&path, "DROP TRIGGER record_no_delete; DELETE FROM record WHERE seq = 2").unwrap();
    let err = BoardLog::open(&path).unwrap_err();
    assert!(matches!(err, LogError::Tampered { seq: 3, .. }), "{err}");
    assert!(err.to_string().contains("a record was removed"), "{err}");
}

#[test]
fn the_page_renders_in_headless_chromium() {
    let board = start("chromium", Limits::default());
    let posted = record("T.S.");
    board.runtime.block_on(client::Client::default().post(&board.url, &posted)).unwrap();
    let hostile = record("A B");
    board.runtime.block_on(client::Client::default().post(&board.url, &hostile)).unwrap();
    let profile = temp_dir("chromium-profile");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("{}/", board.url))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run chromium (tests/mailstack/mailstack.sh install installs it): {e}")
        });
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dom.contains("<table id=\"records\">"), "no records table in the DOM:\n{dom}");
    assert!(dom.contains(&format!("<td class=\"order\">{}</td>", posted.order)), "{dom}");
    assert!(dom.contains("<td class=\"initials\">T.S.</td>"), "{dom}");
    let signer = key().public().to_string();
    assert!(dom.contains(&format!("<td class=\"key\"><code>{}</code></td>", &signer[..20])), "{dom}");
    assert!(dom.contains("Orders at shop@shop.test &lt;&amp;&gt;"), "the title is escaped: {dom}");
    let head = BoardLog::open(&board.db).unwrap().head().unwrap().0;
    assert!(dom.contains(&head), "the chain head is shown");
    let rows = dom.matches("<tr id=\"order-").count();
    assert_eq!(rows, 2, "{dom}");
}
