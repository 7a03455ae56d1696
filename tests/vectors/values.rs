//! `values.json`: each entry holds its inputs and what the code computes
//! from them; [`check`] recomputes every entry and compares. A few values
//! are also computed here independently of `mailpay` (Crockford base32 by
//! a bit loop, the hashes and HMACs of PROTOCOL.md 2, 3.4 and 5.5).

use hmac::{Hmac, Mac};
use mailpay::board::log::{Entry, GENESIS, chain_hash};
use mailpay::protocol::base32;
use mailpay::protocol::block::{self, Block};
use mailpay::protocol::board::{BoardRecord, signed_text};
use mailpay::protocol::cheque::{Cheque, WalletKey};
use mailpay::protocol::compose::order_in_message_id;
use mailpay::protocol::confirmation::{ConfirmationCode, Proof};
use mailpay::protocol::item::{ItemError, LineItem};
use mailpay::protocol::money::{Currency, MoneyError};
use mailpay::protocol::password::{PasswordError, estimate_bits};
use mailpay::protocol::{EmailAddress, Money, OrderId, OrderNonce, PasswordA, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::json::J;
use crate::{load, settle};

type Compute = fn(&Value) -> J;

/// The keys of values.json in order, each with how its entries are computed.
const KEYS: &[(&str, Compute)] = &[
    ("crockford", crockford),
    ("check", check_value),
    ("order_id", order_id),
    ("a_hash", a_hash),
    ("proof", proof),
    ("code", code),
    ("crockford_read", crockford_read),
    ("render", render),
    ("password", password),
    ("money", money),
    ("item", item),
    ("timestamp", timestamp),
    ("method", method),
    ("address", address),
    ("message_id", message_id),
    ("cheque", cheque),
    ("board_record", board_record),
    ("board_chain", board_chain),
];

pub fn check() {
    let stored = load("values.json");
    let computed = J::obj(KEYS.iter().map(|(key, compute)| {
        let entries = stored[*key].as_array().cloned().unwrap_or_default();
        let mut out: Vec<J> = entries.iter().map(compute).collect();
        if *key == "board_chain" {
            chain(&mut out);
        }
        (*key, J::Arr(out))
    }));
    settle("values.json", &stored, &computed);
    independently(&load("values.json"));
}

pub fn s<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_else(|| panic!("{key} is missing in {entry}"))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

pub fn wallet_key(seed_hex: &str) -> WalletKey {
    WalletKey::from_seed(&unhex(seed_hex).try_into().expect("a seed is 32 bytes"))
}

fn parsed<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Display,
{
    text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn crockford(e: &Value) -> J {
    let bytes = unhex(s(e, "hex"));
    J::obj([("hex", J::s(s(e, "hex"))), ("base32", J::s(base32::encode(&bytes)))])
}

fn crockford_read(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match base32::normalize(text) {
        Ok(canonical) => out.with("canonical", J::s(canonical)),
        Err(c) => out.with("error", J::s("bad-symbol")).with("symbol", J::s(c.to_string())),
    }
}

/// The block as typed, with its Check line put right: the Check line is
/// taken out, the rest read, and `Check: <value>` written before END.
fn check_value(e: &Value) -> J {
    let typed = s(e, "block");
    let lines: Vec<&str> =
        typed.lines().filter(|l| !l.trim_start().to_ascii_lowercase().starts_with("check:")).collect();
    let read = block::scan(&lines.join("\n")).unwrap();
    let [b] = read.as_slice() else { panic!("one block expected in {typed:?}") };
    let check = b.check_value();
    let end = lines.len() - 1;
    let mut text: String = lines[..end].iter().map(|l| format!("{l}\n")).collect();
    text.push_str(&format!("Check: {check}\n{}\n", lines[end]));
    let again = block::scan(&text).unwrap();
    assert!(again[0].checked && again[0].same_content(b), "{text}");
    J::obj([("block", J::s(text.clone())), ("canonical", J::s(b.canonical())), ("check", J::s(check))])
}

/// A block as a writer prints it: values collapsed, long lines wrapped,
/// Check last.
fn render(e: &Value) -> J {
    let mut b = Block::new(s(e, "name"));
    for pair in e["fields"].as_array().unwrap() {
        b.push(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    let text = b.render();
    let read = block::scan(&text).unwrap();
    assert!(read.len() == 1 && read[0].checked && read[0].same_content(&b), "{text}");
    J::obj([("name", J::s(s(e, "name"))), ("fields", J::Val(e["fields"].clone())), ("block", J::s(text))])
}

fn order_id(e: &Value) -> J {
    let (orderer, nonce) = (s(e, "orderer"), s(e, "nonce"));
    let id = OrderId::bound(&parsed::<EmailAddress>(orderer), &parsed::<OrderNonce>(nonce));
    J::obj([("orderer", J::s(orderer)), ("nonce", J::s(nonce)), ("order_id", J::s(id.to_string()))])
}

fn a(text: &str) -> PasswordA {
    PasswordA::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn a_hash(e: &Value) -> J {
    let password = s(e, "password");
    J::obj([("password", J::s(password)), ("sha256", J::s(a(password).hash().to_hex()))])
}

fn proof(e: &Value) -> J {
    let (password, order) = (s(e, "password"), s(e, "order_id"));
    let proof = Proof::compute(&a(password), &parsed(order));
    J::obj([("password", J::s(password)), ("order_id", J::s(order)), ("proof", J::s(proof.to_string()))])
}

fn code(e: &Value) -> J {
    let minor = e["amount_minor"].as_u64().unwrap();
    let amount = Money::new(minor, parsed::<Currency>(s(e, "currency"))).unwrap();
    let code = ConfirmationCode::compute(
        &unhex(s(e, "secret")),
        &parsed(s(e, "order_id")),
        amount,
        &parsed(s(e, "payee")),
        &a(s(e, "password")),
        &unhex(s(e, "nonce")),
    );
    let keys = ["secret", "nonce", "order_id", "amount_minor", "currency", "payee", "password"];
    J::obj(keys.map(|k| (k, J::Val(e[k].clone())))).with("code", J::s(code.to_string()))
}

fn password(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match PasswordA::parse(text) {
        Ok(p) => out
            .with("canonical", J::s(p.expose()))
            .with("printed", J::s(p.display()))
            .with("bits", J::v(estimate_bits(p.expose()))),
        Err(PasswordError::Empty) => out.with("error", J::s("empty")),
        Err(PasswordError::BadSymbol(c)) => {
            out.with("error", J::s("bad-symbol")).with("symbol", J::s(c.to_string()))
        }
        Err(PasswordError::TooWeak { bits }) => out.with("error", J::s("too-weak")).with("bits", J::v(bits)),
        Err(PasswordError::TooLong) => out.with("error", J::s("too-long")),
    }
}

pub fn money_error(e: &MoneyError) -> &'static str {
    match e {
        MoneyError::UnknownCurrency(_) => "unknown-currency",
        MoneyError::NotANumber(_) => "not-a-number",
        MoneyError::TooManyDecimals { .. } => "too-many-decimals",
        MoneyError::Zero => "zero",
        MoneyError::TooLarge(_) => "too-large",
        MoneyError::Malformed(_) => "malformed",
    }
}

fn money(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match text.parse::<Money>() {
        Ok(m) => out
            .with("minor", J::v(m.minor()))
            .with("currency", J::s(m.currency().code()))
            .with("printed", J::s(m.to_string())),
        Err(err) => out.with("error", J::s(money_error(&err))),
    }
}

fn item(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match text.parse::<LineItem>() {
        Ok(i) => out
            .with("quantity", J::v(i.quantity))
            .with("description", J::s(i.description.clone()))
            .with("unit_price", J::opt(i.unit_price.map(|p| p.to_string())))
            .with("printed", J::s(i.to_string())),
        Err(err) => out.with(
            "error",
            J::s(match err {
                ItemError::Malformed(_) => "malformed",
                ItemError::Quantity(_) => "quantity",
                ItemError::EmptyDescription => "empty-description",
                ItemError::LongDescription => "long-description",
                ItemError::Price { .. } => "price",
            }),
        ),
    }
}

fn timestamp(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match text.parse::<Timestamp>() {
        Ok(t) => out.with("unix", J::v(t.unix())).with("printed", J::s(t.to_string())),
        Err(_) => out.with("error", J::s("invalid")),
    }
}

fn method(e: &Value) -> J {
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match text.parse::<mailpay::protocol::Method>() {
        Ok(m) => out.with("method", J::s(m.as_str())).with("figure", J::v(m.figure())),
        Err(()) => out.with("error", J::s("invalid")),
    }
}

fn address(e: &Value) -> J {
    use mailpay::protocol::address::AddressError;
    let text = s(e, "text");
    let out = J::obj([("text", J::s(text))]);
    match text.parse::<EmailAddress>() {
        Ok(a) => out.with("address", J::s(a.as_str())),
        Err(AddressError::Malformed(_)) => out.with("error", J::s("malformed")),
        Err(AddressError::NotAscii(_)) => out.with("error", J::s("not-ascii")),
    }
}

fn message_id(e: &Value) -> J {
    let id = s(e, "message_id");
    J::obj([("message_id", J::s(id)), ("order", J::opt(order_in_message_id(id).map(|o| o.to_string())))])
}

fn cheque(e: &Value) -> J {
    let key = wallet_key(s(e, "seed"));
    let cheque = Cheque {
        order: parsed(s(e, "order")),
        payer: parsed(s(e, "payer")),
        payee: parsed(s(e, "payee")),
        amount: parsed(s(e, "amount")),
        password: a(s(e, "password")),
        issued: parsed(s(e, "issued")),
    };
    let block = cheque.signed_block(&key);
    let inputs = ["seed", "order", "payer", "payee", "amount", "password", "issued"];
    J::obj(inputs.map(|k| (k, J::s(s(e, k)))))
        .with("key", J::s(key.public().to_string()))
        .with("canonical", J::s(block.canonical()))
        .with("signature", J::s(block.get("Signature").unwrap()))
        .with("block", J::s(block.render()))
}

fn board_record(e: &Value) -> J {
    let (order, initials, ordered_at) = (s(e, "order"), s(e, "initials"), s(e, "ordered_at"));
    let signed = signed_text(order, initials, ordered_at);
    let out = J::obj([
        ("seed", J::Val(e["seed"].clone())),
        ("order", J::s(order)),
        ("initials", J::s(initials)),
        ("ordered_at", J::s(ordered_at)),
        ("signed_hex", J::s(hex(&signed))),
    ]);
    let record = match e["seed"].as_str() {
        Some(seed) => BoardRecord::signed(order, initials, ordered_at, &wallet_key(seed)),
        None => BoardRecord {
            order: order.into(),
            initials: initials.into(),
            ordered_at: ordered_at.into(),
            key: None,
            signature: None,
        },
    };
    let json = serde_json::to_string(&record).unwrap();
    let checked = BoardRecord::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(checked.to_record(), record);
    out.with("key", J::opt(record.key.clone()))
        .with("signature", J::opt(record.signature.clone()))
        .with("record", J::s(json))
}

/// One entry of a board's chain; `previous` is filled in by [`chain`].
fn board_chain(e: &Value) -> J {
    let keys = ["seq", "order", "initials", "ordered_at", "posted_at", "key", "signature"];
    J::obj(keys.map(|k| (k, J::Val(e[k].clone()))))
}

/// Links the chain: each entry's `previous` is the hash before it.
fn chain(entries: &mut [J]) {
    let mut previous = GENESIS.to_string();
    for entry in entries {
        let v = entry.value();
        let opt = |k: &str| v[k].as_str().map(str::to_string);
        let e = Entry {
            seq: v["seq"].as_i64().unwrap(),
            order: s(&v, "order").into(),
            initials: s(&v, "initials").into(),
            ordered_at: s(&v, "ordered_at").into(),
            posted_at: s(&v, "posted_at").into(),
            key: opt("key"),
            signature: opt("signature"),
            hash: String::new(),
        };
        let hash = chain_hash(&previous, &e);
        *entry = entry.clone().with("previous", J::s(previous)).with("hash", J::s(hash.clone()));
        previous = hash;
    }
}

// ------------------------------------------------ independent computations

/// Crockford base32 by a plain bit loop (PROTOCOL.md 2).
fn bit_loop_base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits: Vec<u8> = bytes.iter().flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1)).collect();
    bits.chunks(5)
        .map(|c| {
            let v = (0..5).fold(0usize, |acc, i| acc * 2 + usize::from(c.get(i).copied().unwrap_or(0)));
            char::from(ALPHABET[v])
        })
        .collect()
}

fn grouped(symbols: &str) -> String {
    symbols.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("-")
}

/// Typed symbols to canonical ones, as PROTOCOL.md 2 says a reader does.
fn canonical(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Each part prefixed by its length as u64 big-endian.
fn framed(parts: &[&str]) -> Vec<u8> {
    parts.iter().flat_map(|p| [&(p.len() as u64).to_be_bytes()[..], p.as_bytes()].concat()).collect()
}

/// Whether `signature` (base64) is the Ed25519 signature of `message` by
/// `key` (`ed25519:BASE64`).
fn verifies(key: &str, message: &[u8], signature: &str) -> bool {
    use base64::Engine;
    use ed25519_dalek::Verifier;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = b64.decode(key.strip_prefix("ed25519:").unwrap()).unwrap().try_into().unwrap();
    let signature: [u8; 64] = b64.decode(signature).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    key.verify(message, &ed25519_dalek::Signature::from_bytes(&signature)).is_ok()
}

/// The example block of PROTOCOL.md section 3, as printed there.
fn protocol_example_block() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/PROTOCOL.md")).unwrap();
    let section = text.split_once("## 3. The block").expect("PROTOCOL.md has section 3").1;
    let fenced = section.split("```").nth(1).expect("section 3 opens with an example block");
    fenced.trim_start_matches('\n').to_string()
}

fn independently(values: &Value) {
    let list = |key: &str| values[key].as_array().cloned().unwrap_or_default();
    for e in list("crockford") {
        assert_eq!(bit_loop_base32(&unhex(s(&e, "hex"))), s(&e, "base32"), "crockford {e}");
    }
    // PROTOCOL.md 2: the order id's test vector, and every order_id entry.
    let example = ("orderer@buyer.test", "8M2Q-4XKD-R7TW-0N3F-9HBV-C5PA-YE", "99GP-0D1Y-7S9V-BDTZ");
    let ids = list("order_id");
    assert!(ids.iter().any(|e| (s(e, "orderer"), s(e, "nonce"), s(e, "order_id")) == example));
    for e in &ids {
        let digest = Sha256::new()
            .chain_update(b"MailPay order id 1\n")
            .chain_update(s(e, "orderer").to_ascii_lowercase())
            .chain_update(b"\n")
            .chain_update(canonical(s(e, "nonce")))
            .finalize();
        assert_eq!(grouped(&bit_loop_base32(&digest[..10])), s(e, "order_id"), "order_id {e}");
    }
    // PROTOCOL.md 3: the example block is a vector, and its Check is KRVZ-W73K-BW25.
    let block = protocol_example_block();
    assert!(
        list("check").iter().any(|e| s(e, "block") == block),
        "PROTOCOL.md's example block is not in values.json"
    );
    let mut canonical_text = String::from("mailpay order\n");
    for line in block.lines().filter(|l| !l.starts_with("-----") && !l.starts_with("Check:")) {
        let (name, value) = line.split_once(": ").unwrap();
        canonical_text.push_str(&format!("{}:{value}\n", name.to_ascii_lowercase()));
    }
    let digest = Sha256::digest(canonical_text.as_bytes());
    assert_eq!(grouped(&bit_loop_base32(&digest[..8])[..12]), "KRVZ-W73K-BW25");
    assert!(block.contains("Check: KRVZ-W73K-BW25\n"));
    // PROTOCOL.md 2 and 5.5: the hash of A, the proof and the code.
    for e in list("a_hash") {
        let digest = Sha256::new()
            .chain_update(b"MailPay-A-v1\0")
            .chain_update(canonical(s(&e, "password")))
            .finalize();
        assert_eq!(hex(&digest), s(&e, "sha256"), "a_hash {e}");
    }
    for e in list("proof") {
        let order = canonical(s(&e, "order_id"));
        let tag = hmac(canonical(s(&e, "password")).as_bytes(), &[b"MailPay-A-Proof-v1\0", order.as_bytes()]);
        assert_eq!(grouped(&bit_loop_base32(&tag[..10])), s(&e, "proof"), "proof {e}");
    }
    // PROTOCOL.md 5.3 and 7: the signatures verify over the bytes given.
    for e in list("cheque") {
        assert!(verifies(s(&e, "key"), s(&e, "canonical").as_bytes(), s(&e, "signature")), "cheque {e}");
        assert!(s(&e, "block").contains(&format!("Signature: {}\n", s(&e, "signature"))));
    }
    for e in list("board_record") {
        let parts = ["MailPay-Board-Record-v1", s(&e, "order"), s(&e, "initials"), s(&e, "ordered_at")];
        assert_eq!(hex(&framed(&parts)), s(&e, "signed_hex"), "board_record {e}");
        if let Some(key) = e["key"].as_str() {
            assert!(verifies(key, &unhex(s(&e, "signed_hex")), s(&e, "signature")), "board_record {e}");
        }
    }
    // PROTOCOL.md 7.2: the chain.
    let mut previous = "0".repeat(64);
    for e in list("board_chain") {
        let seq = e["seq"].to_string();
        let mut parts = vec!["MailPay-Board-v1", &previous, &seq];
        parts.extend(["order", "initials", "ordered_at", "posted_at"].map(|k| s(&e, k)));
        parts.extend(["key", "signature"].iter().filter_map(|k| e[*k].as_str()));
        let hash = hex(&Sha256::digest(framed(&parts)));
        assert_eq!((s(&e, "previous"), s(&e, "hash")), (previous.as_str(), hash.as_str()), "board_chain {e}");
        previous = hash;
    }
    for e in list("code") {
        let a_hash = Sha256::new()
            .chain_update(b"MailPay-A-v1\0")
            .chain_update(canonical(s(&e, "password")))
            .finalize();
        let (order, minor) = (canonical(s(&e, "order_id")), e["amount_minor"].to_string());
        let nonce = unhex(s(&e, "nonce"));
        let parts: [&[u8]; 7] = [
            b"MailPay-Confirm-v1",
            order.as_bytes(),
            minor.as_bytes(),
            s(&e, "currency").as_bytes(),
            s(&e, "payee").as_bytes(),
            &a_hash,
            &nonce,
        ];
        let framed: Vec<Vec<u8>> =
            parts.iter().map(|p| [&(p.len() as u64).to_be_bytes()[..], p].concat()).collect();
        let framed: Vec<&[u8]> = framed.iter().map(Vec::as_slice).collect();
        let tag = hmac(&unhex(s(&e, "secret")), &framed);
        assert_eq!(grouped(&bit_loop_base32(&tag[..5])), s(&e, "code"), "code {e}");
    }
}
