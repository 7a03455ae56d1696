//! `mailpay inspect FILE.eml [--json]`: what the parser makes of a mail.

use std::path::Path;

use serde_json::{Value, json};

use super::{CliError, read};
use crate::protocol::item::LineItem;
use crate::protocol::message::Body;
use crate::protocol::parse::{self, Incoming};

pub fn run(path: &Path, as_json: bool) -> Result<(), CliError> {
    let raw = read(path)?;
    match parse::parse(&raw) {
        Ok(mail) => {
            let report = describe(&mail);
            if as_json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print_text(&report);
            }
            Ok(())
        }
        Err(source) => {
            if as_json {
                println!("{}", json!({ "valid": false, "error": source.to_string() }));
            }
            Err(CliError::Parse { path: path.to_path_buf(), source })
        }
    }
}

fn items(items: &[LineItem]) -> Value {
    items
        .iter()
        .map(|i| {
            json!({
                "quantity": i.quantity,
                "description": i.description,
                "unit_price_minor": i.unit_price.map(|p| p.minor()),
                "currency": i.unit_price.map(|p| p.currency().code()),
            })
        })
        .collect()
}

/// The JSON report: common fields, then what each kind adds.
pub fn describe(mail: &Incoming) -> Value {
    let mut v = json!({
        "valid": true,
        "kind": mail.body.kind().as_str(),
        "order_id": mail.body.order().to_string(),
        "from": mail.from.as_str(),
        "to": mail.to.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "auto_submitted": mail.auto_submitted,
        "mailing_list": mail.mailing_list,
        "auth_failures": mail.auth_failures,
        "blocks": mail.blocks,
    });
    let extra = match &mail.body {
        Body::Order(t) | Body::PaymentRequest(t) => json!({
            "amount_minor": t.amount.minor(), "currency": t.amount.currency().code(), "items": items(&t.items),
            "password_a": t.password.expose(), "orderer": t.orderer.as_str(), "merchant": t.merchant.as_str(),
            "bank": t.bank.as_str(), "method": t.method.as_str(), "figure": t.method.figure(),
            "created": t.created.to_string(), "expires": t.expires.to_string(), "board": t.board,
        }),
        Body::Bill(b) => json!({
            "amount_minor": b.total.minor(), "currency": b.total.currency().code(), "items": items(&b.items),
            "password_a": b.quoted_order.password.expose(), "orderer": b.orderer.as_str(), "merchant": b.merchant.as_str(),
            "billed": b.billed.to_string(), "order_amount_minor": b.quoted_order.amount.minor(),
        }),
        Body::Wallet(w) => json!({ "orderer": w.orderer.as_str(), "cheque_bytes": w.cheque.len() }),
        Body::Confirm(c) => json!({
            "amount_minor": c.amount.minor(), "currency": c.amount.currency().code(), "items": items(&c.items),
            "orderer": c.orderer.as_str(), "merchant": c.merchant.as_str(), "code": c.code.to_string(),
            "expires": c.expires.to_string(), "attempts_left": c.attempts_left,
        }),
        Body::Approve(a) => {
            json!({ "answer": "OK", "password_a": a.password.expose(), "code": a.code.to_string() })
        }
        Body::Decline(d) => json!({ "answer": "NO", "detail": d.detail }),
        Body::Settled(s) => json!({
            "amount_minor": s.amount.minor(), "currency": s.amount.currency().code(), "orderer": s.orderer.as_str(),
            "merchant": s.merchant.as_str(), "settled": s.settled.to_string(), "reference": s.reference,
        }),
        Body::Rejected(r) => {
            json!({ "reason": r.reason.code(), "reason_text": r.reason.describe(), "detail": r.detail })
        }
    };
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    v
}

fn print_text(report: &Value) {
    let Some(map) = report.as_object() else { return };
    for (key, value) in map {
        if key == "valid" || value.is_null() {
            continue;
        }
        match value {
            Value::String(s) => println!("{key}: {s}"),
            Value::Array(list) if list.is_empty() => {}
            Value::Array(list) => {
                println!("{key}:");
                for entry in list {
                    println!("  {}", compact(entry));
                }
            }
            other => println!("{key}: {}", compact(other)),
        }
    }
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={}", compact(v)))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}
