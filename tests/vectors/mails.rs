//! `mails.json` (what each mail parses to, or why it is refused) and
//! `matching.json` (the bank's matching rule on those mails).

use std::collections::BTreeSet;

use mailpay::protocol::block::BlockError;
use mailpay::protocol::cheque::{Cheque, ChequeError, PublicKey};
use mailpay::protocol::item::LineItem;
use mailpay::protocol::matching::{
    AnswerOutcome, Awaited, BoardLookup, Decision, Evidence, Facts, Issued, Received, check_answer, decide,
};
use mailpay::protocol::message::FieldError;
use mailpay::protocol::parse::{self, Incoming, ParseError};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{Body, OrderTerms};
use serde_json::Value;

use crate::generate::{BANK_IDENTITY, BANK_KEY, CONFIRM_NONCE, ORDERER_SEED};
use crate::json::J;
use crate::values::{hex, s, wallet_key};
use crate::{dir, load, settle};

fn read(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn parsed(file: &str) -> Incoming {
    parse::parse(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn items(items: &[LineItem]) -> J {
    J::arr(items.iter().map(|i| J::s(i.to_string())))
}

fn terms(t: &OrderTerms) -> J {
    J::obj([
        ("order", J::s(t.order.to_string())),
        ("orderer", J::s(t.orderer.as_str())),
        ("merchant", J::s(t.merchant.as_str())),
        ("bank", J::s(t.bank.as_str())),
        ("amount", J::s(t.amount.to_string())),
        ("items", items(&t.items)),
        ("method", J::s(t.method.as_str())),
        ("board", J::opt(t.board.clone())),
        ("order_nonce", J::opt(t.nonce.as_ref().map(ToString::to_string))),
        ("bound", J::v(t.is_bound())),
        ("password_a", J::s(t.password.expose())),
        ("created", J::s(t.created.to_string())),
        ("expires", J::s(t.expires.to_string())),
    ])
}

/// The fields of a parsed mail, by kind.
fn fields(body: &Body) -> J {
    let text = |t: &str| J::s(t);
    match body {
        Body::Order(t) | Body::PaymentRequest(t) => terms(t),
        Body::Bill(b) => J::obj([
            ("order", J::s(b.order.to_string())),
            ("merchant", text(b.merchant.as_str())),
            ("orderer", text(b.orderer.as_str())),
            ("items", items(&b.items)),
            ("total", J::s(b.total.to_string())),
            ("billed", J::s(b.billed.to_string())),
            ("order_block", terms(&b.quoted_order)),
        ]),
        Body::Wallet(w) => {
            let identity: age::x25519::Identity = BANK_IDENTITY.parse().unwrap();
            let plain = age::decrypt(&identity, &w.cheque).map(|p| String::from_utf8(p).unwrap());
            J::obj([
                ("order", J::s(w.order.to_string())),
                ("orderer", text(w.orderer.as_str())),
                ("cheque", J::opt(plain.ok())),
            ])
        }
        Body::Confirm(c) => J::obj([
            ("order", J::s(c.order.to_string())),
            ("orderer", text(c.orderer.as_str())),
            ("payee", text(c.merchant.as_str())),
            ("amount", J::s(c.amount.to_string())),
            ("items", items(&c.items)),
            ("code", J::s(c.code.to_string())),
            ("expires", J::s(c.expires.to_string())),
            ("attempts_left", J::v(c.attempts_left)),
            ("proof", J::opt(c.proof.as_ref().map(ToString::to_string))),
        ]),
        Body::Approve(a) => J::obj([
            ("order", J::s(a.order.to_string())),
            ("password_a", J::s(a.password.expose())),
            ("code", J::s(a.code.to_string())),
        ]),
        Body::Decline(d) => {
            J::obj([("order", J::s(d.order.to_string())), ("detail", J::opt(d.detail.clone()))])
        }
        Body::Settled(x) => J::obj([
            ("order", J::s(x.order.to_string())),
            ("payer", text(x.orderer.as_str())),
            ("payee", text(x.merchant.as_str())),
            ("amount", J::s(x.amount.to_string())),
            ("settled", J::s(x.settled.to_string())),
            ("reference", text(&x.reference)),
        ]),
        Body::Rejected(r) => J::obj([
            ("order", J::s(r.order.to_string())),
            ("reason", J::s(r.reason.code())),
            ("detail", J::s(r.detail.clone())),
        ]),
    }
}

/// A refusal's category, with the block or field it names.
fn refusal(error: &ParseError) -> J {
    let with = |category: &str, pairs: &[(&str, &str)]| J::obj([("error", J::s(category))]).with_all(pairs);
    match error {
        ParseError::Block(BlockError::Truncated { name, .. }) => {
            with("truncated", &[("block", name.as_str())])
        }
        ParseError::Block(BlockError::NotAField { name, .. }) => {
            with("not-a-field", &[("block", name.as_str())])
        }
        ParseError::Block(BlockError::CheckMismatch { name, .. }) => {
            with("check-mismatch", &[("block", name.as_str())])
        }
        ParseError::Field(FieldError::Missing { block, field }) => {
            with("field-missing", &[("block", block.as_str()), ("field", *field)])
        }
        ParseError::Field(FieldError::Repeated { block, field }) => {
            with("field-repeated", &[("block", block.as_str()), ("field", *field)])
        }
        ParseError::Field(FieldError::Invalid { block, field, .. }) => {
            with("field-invalid", &[("block", block.as_str()), ("field", *field)])
        }
        ParseError::Field(FieldError::Version { block, version }) => {
            with("block-version", &[("block", block.as_str()), ("version", version.as_str())])
        }
        ParseError::Field(FieldError::TooManyItems { block, .. }) => {
            with("too-many-items", &[("block", block.as_str())])
        }
        ParseError::Field(FieldError::ItemsDisagree { block, .. }) => {
            with("items-disagree", &[("block", block.as_str())])
        }
        ParseError::Version(version) => with("mailpay-version", &[("version", version.as_str())]),
        ParseError::Conflict(block) => with("conflict", &[("block", block.as_str())]),
        ParseError::Missing { block, .. } => with("block-missing", &[("block", *block)]),
        ParseError::KindMismatch { header, .. } => with("kind-mismatch", &[("header", header.as_str())]),
        ParseError::UnknownKind(kind) => with("unknown-kind", &[("header", kind.as_str())]),
        ParseError::OrderConflict { second_place, .. } => {
            let place = match *second_place {
                "the MailPay-Order header" => "mailpay-order-header",
                "the Message-ID" => "message-id",
                "In-Reply-To" => "in-reply-to",
                other => other,
            };
            with("order-conflict", &[("place", place)])
        }
        ParseError::NoCheque(_) => with("no-cheque", &[]),
        ParseError::BareAnswer { .. } => with("bare-answer", &[]),
        ParseError::NotMailPay => with("not-mailpay", &[]),
        ParseError::NotAMail => with("not-a-mail", &[]),
        ParseError::NoSender => with("no-sender", &[]),
        ParseError::BadSender(_) => with("bad-sender", &[]),
        other => with("limit", &[("detail", &other.to_string())]),
    }
}

impl J {
    fn with_all(self, pairs: &[(&str, &str)]) -> J {
        pairs.iter().fold(self, |j, (k, v)| j.with(k, J::s(*v)))
    }
}

fn mail_vector(file: &str) -> (bool, J) {
    let out = J::obj([("file", J::s(file))]);
    match parse::parse(&read(file)) {
        Ok(mail) => {
            let blocks = mail.blocks.iter().map(|b| J::s(format!("{} ({})", b.block, b.origin)));
            (
                true,
                out.with("kind", J::s(mail.body.kind().as_str()))
                    .with("from", J::s(mail.from.as_str()))
                    .with("message_id", J::opt(mail.message_id.clone()))
                    .with("blocks", J::arr(blocks))
                    .with("fields", fields(&mail.body)),
            )
        }
        Err(e) => (
            false,
            match refusal(&e) {
                J::Obj(pairs) => {
                    J::Obj([("file".to_string(), J::s(file))].into_iter().chain(pairs).collect())
                }
                other => other,
            },
        ),
    }
}

/// Every mail file listed in mails.json, and (writing) every one not yet listed.
fn listed(stored: &Value) -> Vec<String> {
    let mut files: Vec<String> = ["accept", "refuse"]
        .iter()
        .flat_map(|k| stored[*k].as_array().cloned().unwrap_or_default())
        .map(|e| s(&e, "file").to_string())
        .collect();
    if std::env::var("MAILPAY_WRITE_VECTORS").is_ok_and(|v| v == "1") {
        for file in mail_files() {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    files
}

pub fn check_mails() {
    let stored = load("mails.json");
    let (mut accept, mut refuse) = (Vec::new(), Vec::new());
    for file in listed(&stored) {
        let (ok, vector) = mail_vector(&file);
        if ok { accept.push(vector) } else { refuse.push(vector) }
    }
    settle("mails.json", &stored, &J::obj([("accept", J::Arr(accept)), ("refuse", J::Arr(refuse))]));
}

/// The .eml files under tests/vectors/mails, as `mails/NAME.eml`.
fn mail_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir().join("mails"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .map(|n| format!("mails/{n}"))
        .collect();
    files.sort();
    files
}

pub fn no_orphan_mails() {
    let mails = load("mails.json");
    let matching = load("matching.json");
    let mut referenced = BTreeSet::new();
    for entry in ["accept", "refuse"].iter().flat_map(|k| mails[*k].as_array().cloned().unwrap_or_default()) {
        referenced.insert(s(&entry, "file").to_string());
    }
    for scenario in matching["scenarios"].as_array().into_iter().flatten() {
        for file in scenario["mails"].as_object().unwrap().values() {
            let file = file.as_str().unwrap();
            assert!(dir().join(file).is_file(), "matching.json names {file}, which does not exist");
            assert!(referenced.contains(file), "{file} is in matching.json but not in mails.json");
        }
    }
    for file in mail_files() {
        assert!(referenced.contains(&file), "{file} is no vector's: list it in mails.json or remove it");
    }
}

// ---------------------------------------------------------------- matching

/// Every reason `decide` and `check_answer` can give (a wrong code is
/// `code-mismatch`); matching.json has a scenario for each.
const REASONS: &[&str] = &[
    "unknown-payer",
    "payer-mismatch",
    "wrong-bank",
    "password-reused",
    "expired",
    "unknown-payee",
    "payee-mismatch",
    "password-mismatch",
    "amount-mismatch",
    "order-mismatch",
    "items-mismatch",
    "cheque-invalid",
    "cheque-mismatch",
    "board-missing",
    "board-mismatch",
    "insufficient-funds",
    "code-mismatch",
    "too-many-attempts",
    "already-answered",
];

fn defaults() -> J {
    J::obj([
        ("payer_registered", J::v(true)),
        ("payee_registered", J::v(true)),
        ("password_used", J::v(false)),
        ("payer_balance", J::v(100_000)),
        ("payer_initials", J::s("T.S.")),
        ("payer_key", J::s(wallet_key(ORDERER_SEED).public().to_string())),
        ("now", J::s("2026-11-25T19:00:00Z")),
    ])
}

pub fn check_matching() {
    let stored = load("matching.json");
    let defaults = defaults();
    let base = defaults.value();
    let scenarios = stored["scenarios"].as_array().cloned().unwrap_or_default();
    let computed = J::obj([
        ("bank", J::s("bank@bank.test")),
        ("bank_key_hex", J::s(hex(BANK_KEY))),
        ("confirm_nonce_hex", J::s(hex(CONFIRM_NONCE))),
        ("bank_identity", J::s(BANK_IDENTITY)),
        ("defaults", defaults),
        ("scenarios", J::arr(scenarios.iter().map(|sc| scenario(sc, &base)))),
    ]);
    settle("matching.json", &stored, &computed);
    let given: BTreeSet<&str> = scenarios.iter().filter_map(|sc| sc["expect"]["reason"].as_str()).collect();
    for reason in REASONS {
        assert!(given.contains(reason), "matching.json has no scenario for {reason}");
        assert!(reason.parse::<RejectReason>().is_ok());
    }
    let decisions: BTreeSet<&str> =
        scenarios.iter().filter_map(|sc| sc["expect"]["decision"].as_str()).collect();
    assert!(decisions.contains("confirm") && decisions.contains("settle"), "{decisions:?}");
}

/// One scenario with its inputs as given and the decision the code takes.
fn scenario(sc: &Value, defaults: &Value) -> J {
    let fact = |k: &str| sc["facts"].get(k).unwrap_or(&defaults[k]).clone();
    let facts = Facts {
        bank: "bank@bank.test".parse().unwrap(),
        payer_registered: fact("payer_registered").as_bool().unwrap(),
        payee_registered: fact("payee_registered").as_bool().unwrap(),
        password_used: fact("password_used").as_bool().unwrap(),
        payer_balance: fact("payer_balance").as_u64().unwrap(),
        payer_initials: fact("payer_initials").as_str().map(str::to_string),
        payer_key: fact("payer_key").as_str().map(|k| k.parse::<PublicKey>().unwrap()),
        now: fact("now").as_str().unwrap().parse().unwrap(),
    };
    let mail = |role: &str| sc["mails"][role].as_str().map(parsed);
    let request = mail("payment_request");
    let bill = mail("bill");
    let terms = request.as_ref().map(|m| match &m.body {
        Body::PaymentRequest(t) => t,
        other => panic!("{}: not a payment request: {:?}", s(sc, "name"), other.kind()),
    });
    let expect = match mail("answer") {
        Some(answer) => answer_outcome(sc, &facts, terms.unwrap(), &answer),
        None => {
            let bill_content = bill.as_ref().map(|m| match &m.body {
                Body::Bill(b) => b,
                other => panic!("{}: not a bill: {:?}", s(sc, "name"), other.kind()),
            });
            let cheque = mail("wallet").map(|m| match (&m.body, &facts.payer_key) {
                (Body::Wallet(w), Some(key)) => Cheque::open(&w.cheque, &BANK_IDENTITY.parse().unwrap(), key),
                (_, None) => Err(ChequeError::NoRegisteredKey(m.from.to_string())),
                _ => Err(ChequeError::NoBlock),
            });
            let board = match &sc["board"] {
                Value::Null => BoardLookup::NotYetLooked,
                Value::String(m) if m == "missing" => BoardLookup::Missing,
                records => BoardLookup::Found(
                    records["records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|r| {
                            mailpay::protocol::board::BoardRecord::from_json(r.to_string().as_bytes()).ok()
                        })
                        .collect(),
                ),
            };
            let evidence = Evidence {
                request: request.as_ref().zip(terms).map(|(m, t)| Received { sender: &m.from, content: t }),
                bill: bill.as_ref().zip(bill_content).map(|(m, b)| Received { sender: &m.from, content: b }),
                cheque: cheque.as_ref(),
                board: &board,
            };
            decision(&evidence, &facts, bill_content.map(|b| b.items.as_slice()))
        }
    };
    let inputs = ["name", "figure", "mails", "facts", "board", "answer_state"];
    J::obj(inputs.iter().filter(|k| !sc[**k].is_null()).map(|k| (*k, J::Val(sc[*k].clone()))))
        .with("expect", expect)
}

/// PROTOCOL.md 6.1 step 1 also asks that the request's Order-Nonce bind its
/// id to its Orderer; the reference bank checks that as the request
/// arrives (`bank::engine`), after the account and From checks that
/// `decide` repeats, so it is checked here in that place.
fn decision(evidence: &Evidence<'_>, facts: &Facts, billed: Option<&[LineItem]>) -> J {
    let reject =
        |reason: RejectReason| J::obj([("decision", J::s("reject")), ("reason", J::s(reason.code()))]);
    if let Some(r) = evidence.request
        && facts.payer_registered
        && *r.sender == r.content.orderer
        && !r.content.is_bound()
    {
        return reject(RejectReason::PayerMismatch);
    }
    match decide(evidence, facts) {
        Decision::Reject(reason, _) => reject(reason),
        Decision::Wait(awaited) => J::obj([
            ("decision", J::s("wait")),
            ("awaited", J::arr(awaited.iter().map(|a| J::s(awaited_name(*a))))),
        ]),
        Decision::Settle => {
            let t = evidence.request.unwrap().content;
            J::obj([
                ("decision", J::s("settle")),
                ("payer", J::s(t.orderer.as_str())),
                ("payee", J::s(t.merchant.as_str())),
                ("amount", J::s(t.amount.to_string())),
            ])
        }
        Decision::AskConfirmation => {
            let t = evidence.request.unwrap().content;
            let issued = Issued {
                bank_key: BANK_KEY,
                nonce: CONFIRM_NONCE,
                terms: t,
                wrong_attempts: 0,
                answered: false,
            };
            let code = mailpay::protocol::matching::expected_code(&issued, &t.password);
            let proof = mailpay::protocol::confirmation::Proof::compute(&t.password, &t.order);
            J::obj([
                ("decision", J::s("confirm")),
                ("orderer", J::s(t.orderer.as_str())),
                ("payee", J::s(t.merchant.as_str())),
                ("amount", J::s(t.amount.to_string())),
                ("items", items(billed.unwrap_or_default())),
                ("code", J::s(code.to_string())),
                ("proof", J::s(proof.to_string())),
                ("attempts_left", J::v(5)),
                ("expires", J::s(t.expires.to_string())),
            ])
        }
    }
}

fn awaited_name(a: Awaited) -> &'static str {
    match a {
        Awaited::PaymentRequest => "payment-request",
        Awaited::Bill => "bill",
        Awaited::Cheque => "cheque",
        Awaited::Board => "board",
    }
}

/// The bank's judgement of an answer to its confirmation (6.1, "On an approve").
fn answer_outcome(sc: &Value, facts: &Facts, terms: &OrderTerms, answer: &Incoming) -> J {
    let Body::Approve(approve) = &answer.body else {
        panic!("{}: the answer is not an approve", s(sc, "name"))
    };
    let state = &sc["answer_state"];
    let issued = Issued {
        bank_key: BANK_KEY,
        nonce: CONFIRM_NONCE,
        terms,
        wrong_attempts: u8::try_from(state["wrong_attempts"].as_u64().unwrap_or(0)).unwrap(),
        answered: state["answered"].as_bool().unwrap_or(false),
    };
    match check_answer(&issued, &answer.from, approve, facts.now) {
        AnswerOutcome::Settle => {
            J::obj([("decision", J::s("settle")), ("amount", J::s(terms.amount.to_string()))])
        }
        AnswerOutcome::TryAgain { attempts_left } => J::obj([
            ("decision", J::s("ask-again")),
            ("reason", J::s("code-mismatch")),
            ("attempts_left", J::v(attempts_left)),
        ]),
        AnswerOutcome::Reject(reason, _) => {
            J::obj([("decision", J::s("reject")), ("reason", J::s(reason.code()))])
        }
    }
}
