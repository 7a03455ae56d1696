//! The board's HTTP input as anyone may send it: the first line is the
//! method and the path, the rest the body. Routing and reading a record
//! never panic; a record read back is printed in forms that read again as
//! the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::board::input::{Route, read_record, route};
use mailpay::protocol::OrderId;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (line, body) = data.split_at(split);
    let line = String::from_utf8_lossy(line);
    let (method, path) = line.split_once(' ').unwrap_or(("GET", &line));
    if let Route::One(order) = route(method, path) {
        let _ = order.parse::<OrderId>();
    }
    if let Ok(record) = read_record(body.get(1..).unwrap_or_default()) {
        let json = serde_json::to_string(&record.to_record()).expect("a record prints as JSON");
        let again = read_record(json.as_bytes()).expect("a record printed back reads again");
        assert_eq!(again, record, "the same record, its signature still valid");
    }
});
