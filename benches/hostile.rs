//! Hostile mails against the parser: `cargo bench --bench hostile`.
//!
//! For each mail of tests/support/hostile.rs (the sizes the attacks used,
//! then each kind filled to the 4 MiB MailPay reads) prints the size, the
//! verdict, the median time of `parse` and the peak resident memory of a
//! process that did nothing but read it. Each mail is read in a child
//! process of its own (this program again, with the mail's name), so each
//! peak is that mail's alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/hostile.rs"]
mod hostile;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use mailpay::protocol::parse::{self, MAX_MAIL_BYTES};

const FROM: &str = "mallory@attacker.test";
const TO: &str = "bank@bank.test";

fn mails() -> Vec<(String, Vec<u8>)> {
    let mut mails = vec![
        ("bomb-340KB".to_string(), hostile::blockquote_bomb(FROM, TO, 20_000, 20_000)),
        ("bomb-780KB".to_string(), hostile::blockquote_bomb(FROM, TO, 40_000, 50_000)),
        ("parts-50000".to_string(), hostile::many_parts(FROM, TO, 50_000)),
        ("parts-100000".to_string(), hostile::many_parts(FROM, TO, 100_000)),
    ];
    for (name, mail) in hostile::all(FROM, TO, MAX_MAIL_BYTES) {
        mails.push((format!("{name}-4MiB"), mail));
    }
    mails
}

/// Peak resident memory of this process so far, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// In the child: read one mail a few times, print the verdict, the median
/// time and the peak memory.
fn child(name: &str) {
    let (_, mail) = mails().into_iter().find(|(n, _)| n == name).expect("a mail of that name");
    let baseline = peak_kib();
    let verdict = match parse::parse(&mail) {
        Ok(m) => format!("read as {}", m.body.kind()),
        Err(e) => format!("refused: {e}"),
    };
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(parse::parse(black_box(&mail)).is_ok());
            start.elapsed()
        })
        .collect();
    times.sort();
    println!("{}\t{}\t{}\t{verdict}", times[2].as_micros(), peak_kib(), baseline);
}

fn main() {
    if let Some(name) = std::env::args().skip_while(|a| a != "--mail").nth(1) {
        return child(&name);
    }
    println!(
        "hostile mails (release build): median of 5 parses; peak RSS of a process reading only that mail"
    );
    let me = std::env::current_exe().unwrap();
    for (name, mail) in mails() {
        let out = Command::new(&me).args(["--bench", "--mail", &name]).output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = line.trim().splitn(4, '\t').collect();
        let [micros, peak, baseline, verdict] = fields[..] else {
            println!("{name:<24} failed: {line} {}", String::from_utf8_lossy(&out.stderr));
            continue;
        };
        let micros: u64 = micros.parse().unwrap();
        let (peak, baseline): (u64, u64) = (peak.parse().unwrap(), baseline.parse().unwrap());
        println!(
            "{name:<24} {:>9} bytes  {:>10.3} ms  peak RSS {:>6.1} MB ({:.1} MB more than before reading)  {verdict}",
            mail.len(),
            micros as f64 / 1000.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(baseline) as f64 / 1024.0,
        );
    }
}
