//! The board under abuse, over real TCP on loopback: clients that open
//! connections and send nothing, send their headers or their body one
//! byte at a time, or open more connections than their share, from one
//! address (127.0.0.1) or several (127.0.0.2, 127.0.0.3, ...: all of
//! 127/8 is loopback on Linux). The board refuses connections over its
//! caps at once, cuts off slow and idle ones at its time limits, and an
//! honest client from another address still posts and reads a record
//! within a second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use mailpay::board::log::BoardLog;
use mailpay::board::server::{self, Board, Limits};
use mailpay::protocol::OrderId;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::cheque::WalletKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::runtime::Runtime;

/// A board on 127.0.0.1 with `limits`, served on its own runtime.
fn start(name: &str, limits: Limits) -> (Runtime, SocketAddr) {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-attack-board-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let board = Board::new(BoardLog::open(&dir.join("board.sqlite")).unwrap(), limits, "Attacked".into());
    runtime.spawn(server::serve(listener, board, None));
    (runtime, address)
}

/// A connection to `board` from the loopback address `source`.
async fn connect_from(source: Ipv4Addr, board: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.into(), 0)).unwrap();
    socket.connect(board).await.unwrap()
}

fn loopback(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// What a client made of its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Nothing within the wait: the board holds it open.
    Open,
    /// The board closed it (or reset it) without a word.
    Closed,
    /// The board answered, and this is the answer's beginning.
    Answered(String),
}

/// Waits up to `wait` for the board to answer or close.
async fn seen_within(reader: &mut OwnedReadHalf, wait: Duration) -> Seen {
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(wait, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    match (read, answer.is_empty()) {
        (Err(_), true) => Seen::Open,
        (Ok(()), true) => Seen::Closed,
        (_, false) => Seen::Answered(String::from_utf8_lossy(&answer).to_string()),
    }
}

/// Sends `bytes` one at a time, `every` apart, until the board stops
/// taking them; returns when it did.
async fn trickle(mut writer: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, every: Duration) {
    for byte in bytes.iter().cycle() {
        if writer.write_all(&[*byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

const SLOW_POST_HEADERS: &str =
    "POST /records HTTP/1.1\r\nHost: board\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

/// Opens a POST whose headers come at once and whose body comes one
/// byte every 200 ms; returns the reading half.
async fn slow_post(source: Ipv4Addr, board: SocketAddr) -> OwnedReadHalf {
    let (reader, mut writer) = connect_from(source, board).await.into_split();
    writer.write_all(SLOW_POST_HEADERS.as_bytes()).await.unwrap();
    tokio::spawn(trickle(writer, b"{\"order\": ".to_vec(), Duration::from_millis(200)));
    reader
}

/// Opens a connection that never sends anything.
async fn idle(source: Ipv4Addr, board: SocketAddr) -> (OwnedReadHalf, tokio::net::tcp::OwnedWriteHalf) {
    connect_from(source, board).await.into_split()
}

/// One whole HTTP/1.1 exchange from `source`, closed after; (status, body).
async fn exchange(source: Ipv4Addr, board: SocketAddr, request: String) -> (u16, String) {
    let mut stream = connect_from(source, board).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn record() -> BoardRecord {
    let order = OrderId::generate(&mut rand::rng()).to_string();
    BoardRecord::signed(&order, "T.S.", "2026-11-25T18:09:18Z", &WalletKey::from_seed(&[1; 32]))
}

/// Posts a record and reads it back from `source`; each within a second.
async fn honest_post_and_read(source: Ipv4Addr, board: SocketAddr) -> (Duration, Duration) {
    let record = record();
    let body = serde_json::to_string(&record).unwrap();
    let post = format!(
        "POST /records HTTP/1.1\r\nHost: board\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let (status, answer) = tokio::time::timeout(Duration::from_secs(5), exchange(source, board, post))
        .await
        .expect("the honest post got no answer within 5 s");
    let posted = start.elapsed();
    assert_eq!(status, 201, "{answer}");
    let get =
        format!("GET /records/{}.json HTTP/1.1\r\nHost: board\r\nConnection: close\r\n\r\n", record.order);
    let start = Instant::now();
    let (status, answer) = tokio::time::timeout(Duration::from_secs(5), exchange(source, board, get))
        .await
        .expect("the honest read got no answer within 5 s");
    let read = start.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(&record.order), "{answer}");
    assert!(
        posted < Duration::from_secs(1) && read < Duration::from_secs(1),
        "post {posted:?}, read {read:?}"
    );
    (posted, read)
}

/// 30 slow POSTs and 10 idle connections from 127.0.0.1 (the per-address
/// cap is 16), then 16 more each from 127.0.0.2, .3 and .4 (the global
/// cap is 40): the board takes no more than its caps, refuses the rest at
/// once with an answer that says why, and a client from 127.0.0.10 posts
/// and reads a record within a second while the others are held.
#[test]
fn slow_and_idle_connections_do_not_keep_honest_clients_out() {
    // The time limits are long here: only the caps are at work.
    let long = Duration::from_secs(60);
    let limits = Limits {
        request_time: long,
        header_time: long,
        idle_time: long,
        max_connections: 40,
        max_connections_per_address: 16,
        ..Limits::default()
    };
    let (runtime, board) = start("caps", limits);
    runtime.block_on(async {
        let mut from_one = Vec::new();
        let mut idle_writers = Vec::new();
        for _ in 0..30 {
            from_one.push(slow_post(loopback(1), board).await);
        }
        for _ in 0..10 {
            let (reader, writer) = idle(loopback(1), board).await;
            from_one.push(reader);
            idle_writers.push(writer);
        }
        let mut from_others = Vec::new();
        for last in 2..=4 {
            for i in 0..16 {
                if i % 2 == 0 {
                    from_others.push(slow_post(loopback(last), board).await);
                } else {
                    let (reader, writer) = idle(loopback(last), board).await;
                    from_others.push(reader);
                    idle_writers.push(writer);
                }
            }
        }
        let attempts = from_one.len() + from_others.len();

        // While all that is held: the honest client.
        let (posted, read) = honest_post_and_read(loopback(10), board).await;

        let wait = Duration::from_secs(1);
        let seen_one = join_all(from_one.iter_mut().map(|r| seen_within(r, wait))).await;
        let seen_others = join_all(from_others.iter_mut().map(|r| seen_within(r, wait))).await;
        let open_one = seen_one.iter().filter(|s| **s == Seen::Open).count();
        let open_all = open_one + seen_others.iter().filter(|s| **s == Seen::Open).count();
        println!(
            "{attempts} connections tried, {open_all} held by the board ({open_one} from 127.0.0.1); \
             honest post {posted:?}, read {read:?}"
        );
        assert!(open_one <= 16, "127.0.0.1 holds {open_one} connections, over its cap of 16");
        assert!(open_all <= 40, "the board holds {open_all} connections, over its cap of 40");
        assert!(open_all >= 30, "the caps are shared out, not everyone thrown off: {open_all} held");
        // Those refused were told why (an idle one reads the whole answer;
        // one that had sent a request may see the connection reset).
        let told = seen_one.iter().find_map(|s| match s {
            Seen::Answered(text) if text.starts_with("HTTP/1.1 429") => Some(text.clone()),
            _ => None,
        });
        let told = told.unwrap_or_else(|| panic!("no refusal said why: {seen_one:?}"));
        assert!(told.contains("too many connections from 127.0.0.1"), "{told}");
        drop(idle_writers);
    });
}

/// With a request limit of 2 s and header and idle limits of 1 s: a POST
/// whose body trickles in, a request whose headers trickle in, a
/// connection that sends nothing and one left idle after an answer are
/// all closed near their limit, though the first two never stop sending.
#[test]
fn slow_requests_and_idle_connections_are_cut_off_at_their_time_limits() {
    let limits = Limits {
        request_time: Duration::from_secs(2),
        header_time: Duration::from_secs(1),
        idle_time: Duration::from_secs(1),
        ..Limits::default()
    };
    let (runtime, board) = start("times", limits);
    runtime.block_on(async {
        let give_up = Duration::from_secs(8);
        let cut_after = |reader: OwnedReadHalf, started: Instant| async move {
            let mut reader = reader;
            let seen = seen_within(&mut reader, give_up).await;
            (seen, started.elapsed())
        };
        let started = Instant::now();
        let body = cut_after(slow_post(loopback(1), board).await, started);

        let (reader, writer) = connect_from(loopback(1), board).await.into_split();
        tokio::spawn(trickle(writer, SLOW_POST_HEADERS.as_bytes().to_vec(), Duration::from_millis(100)));
        let headers = cut_after(reader, Instant::now());

        let (reader, silent) = idle(loopback(1), board).await;
        let nothing = cut_after(reader, Instant::now());

        // An answered request on a kept-alive connection, then silence.
        let (mut reader, mut writer) = connect_from(loopback(1), board).await.into_split();
        writer.write_all(b"GET /records.json HTTP/1.1\r\nHost: board\r\n\r\n").await.unwrap();
        let mut first = [0u8; 12];
        reader.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        let kept_alive = async {
            // The rest of the answer, then the close.
            let mut rest = Vec::new();
            let waited = Instant::now();
            let read = tokio::time::timeout(give_up, reader.read_to_end(&mut rest)).await;
            (if read.is_ok() { Seen::Closed } else { Seen::Open }, waited.elapsed())
        };

        let (body, headers, nothing, kept_alive) = tokio::join!(body, headers, nothing, kept_alive);
        println!(
            "slow body cut after {:?}, slow headers after {:?}, silent after {:?}, idle keep-alive after {:?}",
            body.1, headers.1, nothing.1, kept_alive.1
        );
        for (what, (seen, _)) in
            [("slow body", &body), ("slow headers", &headers), ("silent", &nothing), ("kept alive", &kept_alive)]
        {
            assert_ne!(*seen, Seen::Open, "the {what} connection was still open after {give_up:?}");
        }
        assert!(
            body.1 >= Duration::from_millis(1500) && body.1 < Duration::from_secs(6),
            "a slow body is cut off at the request limit (2 s): {:?}",
            body.1
        );
        for (what, took) in [("slow headers", headers.1), ("silent", nothing.1), ("kept alive", kept_alive.1)] {
            assert!(
                took >= Duration::from_millis(500) && took < Duration::from_secs(5),
                "{what}: cut off at its 1 s limit, not after {took:?}"
            );
        }
        drop(silent);
        // The board still serves.
        honest_post_and_read(loopback(1), board).await;
    });
}

/// Set in the board process that [`a_board_allowed_100_open_files_still_answers_under_attack`] starts.
const CHILD: &str = "MAILPAY_ATTACK_BOARD_CHILD";

/// The board as a process of its own, for the test below: it prints its
/// port, then answers each line on its standard input with whether it can
/// still open a file and a socket (what the shop needs to send its next
/// bill), until that input ends.
#[test]
#[ignore = "the board process of a_board_allowed_100_open_files_still_answers_under_attack, started by it"]
fn board_process() {
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run by a_board_allowed_100_open_files_still_answers_under_attack"
    );
    let long = Duration::from_secs(60);
    let limits = Limits {
        request_time: long,
        header_time: long,
        idle_time: long,
        max_connections: 60,
        max_connections_per_address: 16,
        ..Limits::default()
    };
    let (_runtime, board) = start("process", limits);
    println!("PORT {}", board.port());
    for line in std::io::stdin().lines() {
        if line.is_err() {
            break;
        }
        let file = std::fs::File::open("/dev/null").map(drop);
        let socket = std::net::TcpListener::bind("127.0.0.1:0").map(drop);
        match file.and(socket) {
            Ok(()) => println!("CAN OPEN"),
            Err(e) => println!("CANNOT OPEN: {e}"),
        }
    }
}

/// What was found: slow connections took every file the board's process
/// may open, so the board stopped answering and the shop could not send
/// its next bill ("Too many open files"). A board process allowed 100
/// open files (prlimit), 144 slow and idle connections from nine
/// addresses: it holds no more than its cap of 60, an honest client from
/// a tenth address posts and reads a record within a second, and the
/// process can still open a file and a socket.
#[test]
fn a_board_allowed_100_open_files_still_answers_under_attack() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new("prlimit")
        .arg("--nofile=100:100")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "board_process", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = lines
        .by_ref()
        .map_while(Result::ok)
        // The harness may print the test's name on the same line first.
        .find_map(|line| line.split("PORT ").nth(1).map(|p| p.trim().parse().unwrap()))
        .expect("the board process printed no port");
    let board = SocketAddr::from(([127, 0, 0, 1], port));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let held = runtime.block_on(async {
        let mut held = Vec::new();
        for last in 1..=9 {
            for i in 0..16 {
                if i % 2 == 0 {
                    held.push((slow_post(loopback(last), board).await, None));
                } else {
                    let (reader, writer) = idle(loopback(last), board).await;
                    held.push((reader, Some(writer)));
                }
            }
        }
        // The board has taken (or refused) them all before the honest client comes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        held
    });
    let files = std::fs::read_dir(format!("/proc/{}/fd", child.id())).map(|d| d.count()).unwrap_or(0);
    let honest = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(honest_post_and_read(loopback(10), board))
    });
    let honest = honest.join();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "open").unwrap();
    let probe = lines.map_while(Result::ok).find_map(|l| l.find("CAN").map(|at| l[at..].to_string()));
    let probe = probe.unwrap_or_default();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    drop(held);
    println!("144 connections tried against a process allowed 100 files: it had {files} open, then: {probe}");
    assert_eq!(probe, "CAN OPEN", "the board's process can no longer open a file or a socket");
    let (posted, read) = honest.unwrap_or_else(|_| panic!("the honest client was not served"));
    println!("honest post {posted:?}, read {read:?}");
    assert!(files <= 90, "the board's process has {files} files open");
}
