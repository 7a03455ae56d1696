//! The demo merchant: bills every order it receives, for the ordered
//! amount, forwarding the orderer's ORDER block unchanged to the bank.

use crate::protocol::compose::{self, Draft};
use crate::protocol::item::LineItem;
use crate::protocol::message::{Bill, Body};
use crate::protocol::parse::Incoming;
use crate::protocol::{EmailAddress, Timestamp};

#[derive(Debug)]
pub struct DemoMerchant {
    address: EmailAddress,
}

impl DemoMerchant {
    pub fn new(address: EmailAddress) -> DemoMerchant {
        DemoMerchant { address }
    }

    pub fn address(&self) -> &EmailAddress {
        &self.address
    }

    pub fn handle(&mut self, mail: &Incoming, now: Timestamp) -> Vec<Draft> {
        let (Body::Order(terms), Some(order_block)) = (&mail.body, &mail.order_block) else {
            return Vec::new();
        };
        if terms.merchant != self.address {
            return Vec::new();
        }
        let Ok(line) = LineItem::new(1, &format!("Order {}", terms.order), Some(terms.amount)) else {
            return Vec::new();
        };
        let bill = Bill {
            order: terms.order.clone(),
            merchant: self.address.clone(),
            orderer: terms.orderer.clone(),
            items: vec![line],
            total: terms.amount,
            billed: now,
            quoted_order: terms.clone(),
        };
        vec![compose::bill(&bill, order_block, &mail.thread())]
    }
}
