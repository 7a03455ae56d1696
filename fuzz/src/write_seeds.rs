//! Writes small seed corpora for the fuzz targets, made with the library
//! itself so that they follow the current wire format:
//!
//!     write_seeds DIR    # writes DIR/<target>/<name> for every target
//!
//! Existing files of the same name are overwritten; nothing else is touched.

use std::error::Error;
use std::fs;
use std::path::Path;

// Built by `cargo fuzz build` with the targets, so it is instrumented too and
// needs the coverage runtime libFuzzer provides.
use libfuzzer_sys as _;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::compose::{self, Draft, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::message::{Approve, Bill, Confirm, Decline, Rejected, Settled, WalletMail};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{Kind, Method, OrderTerms, PasswordA, Timestamp};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[path = "../../tests/support/hostile.rs"]
mod hostile;

const NOW: i64 = 1_795_630_158;

fn terms() -> Result<OrderTerms> {
    Ok(OrderTerms {
        order: "7KQ3-M9ZX-P2VD-H4TR".parse()?,
        orderer: "taro@home.test".parse()?,
        merchant: "shop@shop.test".parse()?,
        bank: "pay@bank.test".parse()?,
        amount: "1300 JPY".parse()?,
        items: vec!["1 x 緑茶 100g @ 1200 JPY".parse()?, "2 x Envelope @ 50 JPY".parse()?],
        password: PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC")?,
        created: Timestamp(NOW),
        expires: Timestamp(NOW + 3 * 86_400),
        method: Method::All,
        board: Some("https://shop.test/mailpay/board".to_string()),
        nonce: None,
    })
}

fn build(draft: Draft, n: usize) -> (String, Vec<u8>) {
    let id = format!("{}.{}.SEED{n}@{}", draft.kind.as_str(), draft.order.as_str(), draft.from.domain());
    let out = draft.build_with_id(Timestamp(NOW + n as i64), id.clone());
    (id, out.bytes)
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = dir.join(target);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn quote(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

fn main() -> Result<()> {
    let Some(dir) = std::env::args_os().nth(1) else {
        return Err("usage: write_seeds DIR".into());
    };
    let dir = Path::new(&dir);
    let terms = terms()?;
    let code = ConfirmationCode::compute(b"seed key", &terms.order, terms.amount, &terms.merchant, &terms.password, b"n1");
    let [order, request] = compose::order(&terms);
    let (order_id, order_mail) = build(order, 0);
    let answering = Thread {
        in_reply_to: Some(order_id.clone()),
        references: vec![order_id.clone()],
        subject: Some(format!("Order {}", terms.order)),
    };
    let order_block = terms.to_block(Kind::Order);
    let bill = Bill {
        order: terms.order.clone(),
        merchant: terms.merchant.clone(),
        orderer: terms.orderer.clone(),
        items: terms.items.clone(),
        total: terms.amount,
        billed: Timestamp(NOW + 60),
        quoted_order: terms.clone(),
    };
    let confirm = Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: code.clone(),
        expires: Timestamp(NOW + 3600),
        attempts_left: 5,
        proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
    };
    let approve = Approve { order: terms.order.clone(), password: terms.password.clone(), code: code.clone() };
    let decline = Decline { order: terms.order.clone(), detail: Some("Changed my mind.".to_string()) };
    let settled = Settled {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        settled: Timestamp(NOW + 120),
        reference: "BANK-2026-000042".to_string(),
    };
    let rejected = Rejected {
        order: terms.order.clone(),
        reason: RejectReason::PasswordMismatch,
        detail: "The two copies of password A differ.".to_string(),
    };
    let wallet = WalletMail {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        cheque: b"age-encryption.org/v1\n-> X25519 seed\nnot a real cheque\n".to_vec(),
    };
    let drafts = [
        ("payment_request", request),
        ("wallet", compose::wallet(&wallet, &terms.bank)),
        ("bill", compose::bill(&bill, &order_block, &answering)),
        ("confirm", compose::confirm(&confirm, &terms.bank, &answering)),
        ("approve", compose::approve(&approve, &terms.orderer, &terms.bank, &answering)),
        ("decline", compose::decline(&decline, &terms.orderer, &terms.bank, &answering)),
        ("settled", compose::settled(&settled, &terms.bank, &terms.orderer, &answering)),
        ("rejected", compose::rejected(&rejected, &terms.bank, &terms.orderer, &answering)),
    ];
    write(dir, "parse_mail", "order.eml", &order_mail)?;
    // Small instances of the hostile mails (tests/support/hostile.rs): small,
    // so that they do not raise the length libFuzzer starts from; the
    // mail_structure target grows such shapes large.
    for (name, bytes) in hostile::all("mallory@attacker.test", "pay@bank.test", 2_000) {
        write(dir, "parse_mail", &format!("hostile-{name}.eml"), &bytes)?;
    }
    // Programs for mail_structure: deep quotation around many lines, deep
    // and wide multiparts, attached messages.
    let programs: [&[u8]; 4] = [&[3, 0xf4, 0xf4, 0xf6, 0xf6, 0xf7, 0xf8], &[0; 64], &[2; 512], &[11, 11, 11, 3, 10, 9]];
    for (n, program) in programs.iter().enumerate() {
        write(dir, "mail_structure", &format!("program{n}"), program)?;
    }
    for (n, (name, draft)) in drafts.into_iter().enumerate() {
        let (_, bytes) = build(draft, n + 1);
        write(dir, "parse_mail", &format!("{name}.eml"), &bytes)?;
    }

    // An answer written by hand above the quoted confirmation, no block of its own.
    let confirm_text = confirm.to_block().render();
    let by_hand = Draft {
        kind: Kind::Approve,
        order: terms.order.clone(),
        from: terms.orderer.clone(),
        to: terms.bank.clone(),
        subject: format!("Re: Confirm payment {}", terms.order),
        text: format!(
            "ok!\nPassword-A: {}\nCode: {code}\n\nOn Wed, 25 Nov 2026, pay@bank.test wrote:\n{}",
            terms.password.display(),
            quote(&confirm_text, "> ")
        ),
        blocks: Vec::new(),
        attachment: None,
        thread: answering.clone(),
        automated: false,
    };
    let (_, by_hand) = build(by_hand, 20);
    write(dir, "parse_mail", "approve_by_hand.eml", &by_hand)?;
    // The order forwarded inside a message/rfc822 attachment, with headers a
    // receiver must notice.
    let boundary = "=_seed_boundary";
    let mut attached = format!(
        "From: Shop <shop@shop.test>\r\nTo: pay@bank.test\r\nSubject: Fwd: order\r\n\
         Authentication-Results: mx.bank.test; dkim=fail; spf=pass\r\nList-Id: <orders.shop.test>\r\n\
         Auto-Submitted: auto-forwarded\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nForwarded as attachment.\r\n\r\n--{boundary}\r\n\
         Content-Type: message/rfc822\r\n\r\n"
    )
    .into_bytes();
    attached.extend_from_slice(&order_mail);
    attached.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    write(dir, "parse_mail", "forwarded_attachment.eml", &attached)?;

    // Blocks as text: plain, quoted twice, forwarded, with a long wrapped value.
    let mut long = order_block.clone();
    long.push("Detail", "A very long detail that goes well past the width of one line, so that it is wrapped onto continuation lines when written and joined again when read.");
    let blocks = [
        ("order", order_block.render()),
        ("bill", format!("{}\n{}", bill.to_block().render(), order_block.render())),
        ("confirm_quoted", format!("Thanks!\n\nOn Mon, Bob wrote:\n{}", quote(&confirm_text, "> > "))),
        (
            "settled_forwarded",
            format!("FYI\n\n---------- Forwarded message ---------\nFrom: pay@bank.test\n\n{}", settled.to_block().render()),
        ),
        ("long_value", long.render()),
        ("by_hand", format!("OK\nCode: {code}\n\nOn Tue, bank wrote:\n{}", quote(&confirm_text, ">"))),
    ];
    for (name, text) in blocks {
        write(dir, "scan_block", &format!("{name}.txt"), text.as_bytes())?;
    }

    let values = [
        "1300 JPY", "12.50 USD", "0.001 KWD", "1 CLF",
        "2 x Green tea 100g @ 600 JPY", "3 × 抹茶", "Book: \"A @ B\"",
        "2026-11-25T18:09:18Z", "2026-11-26T03:09:18+09:00", "2000-02-29T00:00:00Z",
        "7KQ3-M9ZX-P2VD-H4TR", "7kq3 m9zx p2vd h4tr",
        "taro@home.test", "<Shop@Shop.TEST>",
        "4F7K-Q2MX", "7KQ3-M9ZX-P2VD-H4TR-B8NC",
    ];
    for (n, value) in values.iter().enumerate() {
        write(dir, "values", &format!("value{n:02}"), value.as_bytes())?;
    }
    write(dir, "values", "all", values.join("\n").as_bytes())?;

    let key = mailpay::protocol::cheque::WalletKey::from_seed(&[7; 32]);
    let record = BoardRecord::for_order(&terms, "T.S.", &key);
    let json = serde_json::to_string(&record)?;
    write(dir, "board_record", "record.json", json.as_bytes())?;
    let unsigned = BoardRecord { key: None, signature: None, ..record };
    write(dir, "board_record", "unsigned.json", serde_json::to_string(&unsigned)?.as_bytes())?;
    write(dir, "board_record", "spaced.json", b"{ \"initials\": \"t. s.\", \"order\": \"7kq3m9zxp2vdh4tr\",\n  \"ordered_at\": \"2026-11-26T03:09:18+09:00\" }")?;

    let links = [
        "mailpay:shop@example.com?name=Example%20Shop&bank=settle@bank.example&amount=1200&currency=JPY&ref=INV-42",
        "mailpay:shop@shop.test",
        "MAILPAY:shop@shop.test?amount=12.50&currency=USD&figures=1,4&board=https%3A%2F%2Fshop.test%2Fboard",
        "mailpay:%E5%BA%97@shop.test?name=%E6%8A%B9%E8%8C%B6",
    ];
    for (n, link) in links.iter().enumerate() {
        write(dir, "link", &format!("link{n}"), link.as_bytes())?;
    }
    let requests = [
        format!("POST /records\n{json}"),
        "GET /records.json\n".to_string(),
        "GET /records/7KQ3-M9ZX-P2VD-H4TR.json\n".to_string(),
        "POST /records\n{\"order\":\"7KQ3-M9ZX-P2VD-H4TR\",\"initials\":\"T.S.\",\"ordered_at\":\"2026-11-25T18:09:18Z\",\"password\":\"x\"}".to_string(),
        "DELETE /records\n".to_string(),
    ];
    for (n, request) in requests.iter().enumerate() {
        write(dir, "board_api", &format!("request{n}"), request.as_bytes())?;
    }
    Ok(())
}
