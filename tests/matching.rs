//! The bank's matching rule (`protocol::matching`): every rejection reason
//! that `decide` and `check_answer` can give, what each figure settles or
//! asks on, what the bank waits for, and the dynamic linking of the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;

use mailpay::protocol::board::{BoardRecord, CheckedRecord, TIME_TOLERANCE_SECONDS};
use mailpay::protocol::cheque::{Cheque, ChequeError, WalletKey};
use mailpay::protocol::confirmation::{ConfirmationCode, MAX_ATTEMPTS};
use mailpay::protocol::matching::{
    AnswerOutcome, Awaited, BoardLookup, Decision, Evidence, Facts, Issued, Received, check_answer, decide,
};
use mailpay::protocol::message::{Approve, Bill};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{EmailAddress, Method, OrderTerms, Timestamp};
use support::protocol::{
    BANK_KEY, METHODS, NONCE, address, bank, bill_for, code_for, item, merchant, money, must, orderer,
    other_merchant, other_order_id, other_password_a, stranger, terms,
};

/// The bank's age identity and the orderer's registered wallet key.
struct Keys {
    bank: age::x25519::Identity,
    wallet: WalletKey,
}

impl Keys {
    fn new() -> Self {
        Keys { bank: age::x25519::Identity::generate(), wallet: WalletKey::generate(&mut rand::rng()) }
    }

    /// Signs with `signer`, encrypts to `to`, then opens as this bank would.
    fn deliver(
        &self,
        cheque: &Cheque,
        signer: &WalletKey,
        to: &age::x25519::Recipient,
    ) -> Result<Cheque, ChequeError> {
        let sealed = cheque.seal(signer, to).expect("sealing works");
        Cheque::open(&sealed, &self.bank, &self.wallet.public())
    }

    /// A cheque written and sent the way the protocol says.
    fn honest(&self, cheque: &Cheque) -> Result<Cheque, ChequeError> {
        self.deliver(cheque, &self.wallet, &self.bank.to_public())
    }
}

/// The cheque the orderer writes for these terms.
fn cheque_for(terms: &OrderTerms) -> Cheque {
    Cheque::for_order(terms, terms.created.plus_seconds(30))
}

/// The orderer's wallet key, registered at the bank, which signs its
/// board records.
fn board_key() -> WalletKey {
    WalletKey::from_seed(&[3; 32])
}

fn signed_record(terms: &OrderTerms, initials: &str, key: &WalletKey) -> CheckedRecord {
    BoardRecord::for_order(terms, initials, key).check().expect("a valid record")
}

/// Everything the bank holds about one order, owned, so that each scenario
/// can spoil one piece of it.
struct Case {
    request: Option<(EmailAddress, OrderTerms)>,
    bill: Option<(EmailAddress, Bill)>,
    cheque: Option<Result<Cheque, ChequeError>>,
    board: BoardLookup,
    facts: Facts,
}

impl Case {
    /// Every piece the method asks for, all consistent, ten minutes after
    /// the order was made.
    fn new(method: Method) -> Self {
        let terms = terms(method);
        let cheque = method.needs_cheque().then(|| Keys::new().honest(&cheque_for(&terms)));
        let board = if method.needs_board() {
            BoardLookup::Found(vec![signed_record(&terms, "T.S.", &board_key())])
        } else {
            BoardLookup::NotYetLooked
        };
        Case {
            request: Some((orderer(), terms.clone())),
            bill: Some((merchant(), bill_for(&terms))),
            cheque,
            board,
            facts: Facts {
                bank: bank(),
                payer_registered: true,
                payee_registered: true,
                password_used: false,
                payer_balance: 100_000,
                payer_initials: Some("T.S.".to_string()),
                payer_key: Some(board_key().public()),
                now: terms.created.plus_seconds(600),
            },
        }
    }

    fn terms(&self) -> OrderTerms {
        self.request.as_ref().map(|(_, t)| t.clone()).expect("the case has a payment request")
    }

    fn bill_mut(&mut self) -> &mut Bill {
        &mut self.bill.as_mut().expect("the case has a bill").1
    }

    fn request_mut(&mut self) -> &mut OrderTerms {
        &mut self.request.as_mut().expect("the case has a payment request").1
    }

    fn decide(&self) -> Decision {
        let evidence = Evidence {
            request: self.request.as_ref().map(|(sender, content)| Received { sender, content }),
            bill: self.bill.as_ref().map(|(sender, content)| Received { sender, content }),
            cheque: self.cheque.as_ref(),
            board: &self.board,
        };
        decide(&evidence, &self.facts)
    }
}

/// What the rule said in one scenario.
#[derive(Debug)]
enum Outcome {
    Decided(Decision),
    Answered(AnswerOutcome),
}

impl Outcome {
    /// The reason this outcome gives the orderer. A wrong code is not a
    /// rejection but a `TryAgain`, which the bank reports as `code-mismatch`.
    fn reason(&self) -> Option<RejectReason> {
        match self {
            Outcome::Decided(Decision::Reject(reason, _))
            | Outcome::Answered(AnswerOutcome::Reject(reason, _)) => Some(*reason),
            Outcome::Answered(AnswerOutcome::TryAgain { .. }) => Some(RejectReason::CodeMismatch),
            _ => None,
        }
    }

    fn detail(&self) -> &str {
        match self {
            Outcome::Decided(Decision::Reject(_, detail))
            | Outcome::Answered(AnswerOutcome::Reject(_, detail)) => detail,
            _ => "",
        }
    }
}

fn decided(case: &Case) -> Outcome {
    Outcome::Decided(case.decide())
}

/// Asserts the outcome rejects for `reason` with a detail that mentions `about`.
fn assert_rejects(outcome: &Outcome, reason: RejectReason, about: &str) {
    assert_eq!(outcome.reason(), Some(reason), "{outcome:?}");
    assert!(
        outcome.detail().to_lowercase().contains(&about.to_lowercase()),
        "the detail of {reason} should mention {about:?}: {outcome:?}"
    );
}

// ---------------------------------------------------------------- decide

fn wrong_a_in_bill() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.bill_mut().quoted_order.password = other_password_a();
    decided(&case)
}

fn merchant_raised_amount() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    let bill = case.bill_mut();
    bill.items = vec![item("2 x Green tea 100g @ 650 JPY")];
    bill.total = money("1300 JPY");
    decided(&case)
}

fn merchant_changed_currency() -> Outcome {
    let mut case = Case::new(Method::Cheque);
    case.bill_mut().total = money("1200 KRW");
    decided(&case)
}

fn bill_from_another_merchant() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.bill = Some((other_merchant(), Bill { merchant: other_merchant(), ..bill_for(&case.terms()) }));
    decided(&case)
}

fn bill_sent_by_someone_else_than_its_merchant() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.bill.as_mut().expect("bill").0 = stranger();
    decided(&case)
}

fn request_sent_by_someone_else_than_the_orderer() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.request.as_mut().expect("request").0 = stranger();
    decided(&case)
}

fn bill_names_another_orderer() -> Outcome {
    let mut case = Case::new(Method::Board);
    case.bill_mut().orderer = stranger();
    decided(&case)
}

fn forwarded_order_altered() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.bill_mut().quoted_order.items = vec![item("3 x Green tea 100g @ 400 JPY")];
    decided(&case)
}

fn forwarded_order_with_later_expiry() -> Outcome {
    let mut case = Case::new(Method::All);
    let quoted = &mut case.bill_mut().quoted_order;
    quoted.expires = quoted.expires.plus_seconds(86_400);
    decided(&case)
}

fn bill_for_another_order_id() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.bill_mut().order = other_order_id();
    decided(&case)
}

fn payer_without_account() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.facts.payer_registered = false;
    case.bill = None;
    decided(&case)
}

fn payee_without_account() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.facts.payee_registered = false;
    case.request = None;
    decided(&case)
}

fn order_names_another_bank() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    let other = address("pay@other-bank.test");
    case.request_mut().bank = other.clone();
    case.bill_mut().quoted_order.bank = other;
    decided(&case)
}

fn password_used_before() -> Outcome {
    let mut case = Case::new(Method::Cheque);
    case.facts.password_used = true;
    decided(&case)
}

fn request_after_expiry() -> Outcome {
    let mut case = Case::new(Method::Confirm);
    case.facts.now = case.terms().expires;
    decided(&case)
}

fn balance_short_by_one() -> Outcome {
    let mut case = Case::new(Method::Board);
    case.facts.payer_balance = 1199;
    decided(&case)
}

fn cheque_to_another_bank() -> Outcome {
    let mut case = Case::new(Method::Cheque);
    let keys = Keys::new();
    let elsewhere = age::x25519::Identity::generate().to_public();
    case.cheque = Some(keys.deliver(&cheque_for(&case.terms()), &keys.wallet, &elsewhere));
    assert!(matches!(case.cheque, Some(Err(ChequeError::Decrypt(_)))), "{:?}", case.cheque);
    decided(&case)
}

fn cheque_signed_by_a_stranger() -> Outcome {
    let mut case = Case::new(Method::All);
    let keys = Keys::new();
    let forger = WalletKey::generate(&mut rand::rng());
    case.cheque = Some(keys.deliver(&cheque_for(&case.terms()), &forger, &keys.bank.to_public()));
    assert!(matches!(case.cheque, Some(Err(ChequeError::WrongKey { .. }))), "{:?}", case.cheque);
    decided(&case)
}

fn cheque_disagreeing_in(field: &str) -> Outcome {
    let mut case = Case::new(Method::Cheque);
    let mut cheque = cheque_for(&case.terms());
    match field {
        "order" => cheque.order = other_order_id(),
        "payer" => cheque.payer = stranger(),
        "payee" => cheque.payee = other_merchant(),
        "amount" => cheque.amount = money("12000 JPY"),
        "password a" => cheque.password = other_password_a(),
        other => panic!("no cheque field {other}"),
    }
    case.cheque = Some(Keys::new().honest(&cheque));
    decided(&case)
}

fn board_without_record() -> Outcome {
    let mut case = Case::new(Method::Board);
    case.board = BoardLookup::Missing;
    decided(&case)
}

#[test]
fn a_board_the_bank_could_not_read_is_missing_and_the_detail_says_why() {
    let mut case = Case::new(Method::Board);
    case.board = BoardLookup::Unreadable("its address 127.0.0.1 is a loopback address".into());
    match case.decide() {
        Decision::Reject(RejectReason::BoardMissing, detail) => {
            assert!(
                detail.contains("could not be read: its address 127.0.0.1 is a loopback address"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
}

fn board_record(method: Method, initials: &str, minutes_off: i64) -> Outcome {
    let mut case = Case::new(method);
    let terms = case.terms();
    let shifted = OrderTerms { created: terms.created.plus_seconds(minutes_off * 60), ..terms };
    case.board = BoardLookup::Found(vec![signed_record(&shifted, initials, &board_key())]);
    decided(&case)
}

fn board_record_for_another_order() -> Outcome {
    let mut case = Case::new(Method::Board);
    let other = OrderTerms { order: other_order_id(), ..case.terms() };
    case.board = BoardLookup::Found(vec![signed_record(&other, "T.S.", &board_key())]);
    decided(&case)
}

/// The board holds records by `signers` (None: unsigned), oldest first,
/// the stranger's with other initials.
fn board_records_by(signers: &[Option<&WalletKey>], registered: bool) -> Outcome {
    let mut case = Case::new(Method::Board);
    let terms = case.terms();
    let records = signers
        .iter()
        .map(|signer| match signer {
            Some(key) if key.public() == board_key().public() => signed_record(&terms, "T.S.", key),
            Some(key) => signed_record(&terms, "X.Y.", key),
            None => {
                let mut r = BoardRecord::for_order(&terms, "X.Y.", &board_key());
                (r.key, r.signature) = (None, None);
                r.check().expect("a valid unsigned record")
            }
        })
        .collect();
    case.board = BoardLookup::Found(records);
    if !registered {
        case.facts.payer_key = None;
    }
    decided(&case)
}

#[test]
fn password_mismatch_when_the_bill_carries_another_a() {
    assert_rejects(&wrong_a_in_bill(), RejectReason::PasswordMismatch, "password A");
}

#[test]
fn amount_mismatch_when_the_merchant_bills_more_or_in_another_currency() {
    assert_rejects(&merchant_raised_amount(), RejectReason::AmountMismatch, "1300 JPY");
    assert_rejects(&merchant_changed_currency(), RejectReason::AmountMismatch, "1200 KRW");
}

#[test]
fn payee_mismatch_when_another_merchant_bills_or_the_sender_is_not_the_merchant() {
    assert_rejects(&bill_from_another_merchant(), RejectReason::PayeeMismatch, "sales@other-shop.test");
    assert_rejects(
        &bill_sent_by_someone_else_than_its_merchant(),
        RejectReason::PayeeMismatch,
        "mallory@evil.test",
    );
}

#[test]
fn payer_mismatch_when_someone_else_asks_to_pay_or_the_bill_names_another_orderer() {
    assert_rejects(
        &request_sent_by_someone_else_than_the_orderer(),
        RejectReason::PayerMismatch,
        "mallory@evil.test",
    );
    assert_rejects(&bill_names_another_orderer(), RejectReason::PayerMismatch, "mallory@evil.test");
}

#[test]
fn order_mismatch_when_the_forwarded_order_or_the_bill_differs() {
    assert_rejects(&forwarded_order_altered(), RejectReason::OrderMismatch, "differs");
    assert_rejects(&forwarded_order_with_later_expiry(), RejectReason::OrderMismatch, "differs");
    // The bill's own Order line must name the order it carries.
    assert_rejects(&bill_for_another_order_id(), RejectReason::OrderMismatch, "9ZZ9-AB12-CD34-EF56");
}

#[test]
fn unknown_payer_and_payee_without_accounts_even_before_the_other_mail() {
    assert_rejects(&payer_without_account(), RejectReason::UnknownPayer, "taro@buyer.test");
    assert_rejects(&payee_without_account(), RejectReason::UnknownPayee, "shop@shop.test");
}

#[test]
fn wrong_bank_when_the_order_names_another() {
    assert_rejects(&order_names_another_bank(), RejectReason::WrongBank, "pay@other-bank.test");
}

#[test]
fn password_reused_when_its_hash_is_on_record() {
    assert_rejects(&password_used_before(), RejectReason::PasswordReused, "already used");
}

#[test]
fn expired_at_expires_and_not_a_second_before() {
    assert_rejects(&request_after_expiry(), RejectReason::Expired, "expired");
    let mut case = Case::new(Method::Confirm);
    case.facts.now = Timestamp(case.terms().expires.unix() - 1);
    assert_eq!(case.decide(), Decision::AskConfirmation);
}

#[test]
fn insufficient_funds_below_the_amount_and_not_at_it() {
    assert_rejects(&balance_short_by_one(), RejectReason::InsufficientFunds, "1200 JPY");
    let mut case = Case::new(Method::Board);
    case.facts.payer_balance = 1200;
    assert_eq!(case.decide(), Decision::Settle);
}

#[test]
fn cheque_invalid_when_it_cannot_be_opened_or_is_signed_by_another_key() {
    assert_rejects(&cheque_to_another_bank(), RejectReason::ChequeInvalid, "cannot be opened");
    assert_rejects(&cheque_signed_by_a_stranger(), RejectReason::ChequeInvalid, "registered key");
}

#[test]
fn cheque_mismatch_names_the_field_that_differs() {
    for field in ["order", "payer", "payee", "amount", "password a"] {
        assert_rejects(
            &cheque_disagreeing_in(field),
            RejectReason::ChequeMismatch,
            &format!("cheque's {field}"),
        );
    }
}

#[test]
fn board_missing_without_a_record() {
    assert_rejects(&board_without_record(), RejectReason::BoardMissing, "no record");
}

#[test]
fn board_mismatch_on_time_initials_or_order() {
    let late = TIME_TOLERANCE_SECONDS / 60 + 1;
    assert_rejects(&board_record(Method::Board, "T.S.", late), RejectReason::BoardMismatch, "placed at");
    assert_rejects(&board_record(Method::All, "T.S.", -late), RejectReason::BoardMismatch, "placed at");
    assert_rejects(&board_record(Method::Board, "K.Y.", 0), RejectReason::BoardMismatch, "initials");
    assert_rejects(&board_record_for_another_order(), RejectReason::BoardMismatch, "9ZZ9-AB12-CD34-EF56");
    // Within the tolerance, and initials written differently, it matches.
    let edge = TIME_TOLERANCE_SECONDS / 60;
    assert!(matches!(board_record(Method::Board, "t s", edge), Outcome::Decided(Decision::Settle)));
    assert!(matches!(board_record(Method::Board, "TS", -edge), Outcome::Decided(Decision::Settle)));
}

#[test]
fn only_the_record_signed_with_the_registered_key_counts() {
    let stranger = WalletKey::from_seed(&[4; 32]);
    let orderer = board_key();
    // Posted first by others, then by the orderer: the orderer's counts.
    let squatted = board_records_by(&[Some(&stranger), None, Some(&orderer)], true);
    assert!(matches!(squatted, Outcome::Decided(Decision::Settle)), "{squatted:?}");
    // Only others' records: none for this orderer.
    let others = board_records_by(&[Some(&stranger), None], true);
    assert_rejects(&others, RejectReason::BoardMissing, "signed with the orderer's wallet key");
    // A bank that knows no key for the orderer goes by the oldest record.
    let unknown_key = board_records_by(&[Some(&stranger), Some(&orderer)], false);
    assert_rejects(&unknown_key, RejectReason::BoardMismatch, "initials");
    assert!(matches!(
        board_records_by(&[Some(&orderer), Some(&stranger)], false),
        Outcome::Decided(Decision::Settle)
    ));
}

// ---------------------------------------------------------------- positive cases

#[test]
fn fig1_asks_the_orderer_to_confirm() {
    assert_eq!(Case::new(Method::Confirm).decide(), Decision::AskConfirmation);
}

#[test]
fn fig2_settles_on_a_valid_cheque() {
    let case = Case::new(Method::Cheque);
    assert_eq!(case.cheque.as_ref().map(|c| c.as_ref().map(|c| c.amount)), Some(Ok(money("1200 JPY"))));
    assert_eq!(case.decide(), Decision::Settle);
}

#[test]
fn fig3_settles_on_a_consistent_board_record() {
    let case = Case::new(Method::Board);
    assert!(matches!(case.board, BoardLookup::Found(_)));
    assert_eq!(case.decide(), Decision::Settle);
}

#[test]
fn fig4_asks_to_confirm_once_cheque_and_board_agree() {
    assert_eq!(Case::new(Method::All).decide(), Decision::AskConfirmation);
}

#[test]
fn waits_for_each_piece_still_missing() {
    for method in METHODS {
        let mut case = Case::new(method);
        case.request = None;
        case.bill = None;
        assert_eq!(case.decide(), Decision::Wait(vec![Awaited::PaymentRequest, Awaited::Bill]), "{method:?}");
        let full = Case::new(method);
        case.request = full.request;
        assert_eq!(case.decide(), Decision::Wait(vec![Awaited::Bill]), "{method:?}");
        let mut case = Case::new(method);
        case.request = None;
        assert_eq!(case.decide(), Decision::Wait(vec![Awaited::PaymentRequest]), "{method:?}");
    }
    let cases = [
        (Method::Cheque, vec![Awaited::Cheque]),
        (Method::Board, vec![Awaited::Board]),
        (Method::All, vec![Awaited::Cheque, Awaited::Board]),
    ];
    for (method, awaited) in cases {
        let mut case = Case::new(method);
        case.cheque = None;
        case.board = BoardLookup::NotYetLooked;
        // Nothing is settled or refused for money before every piece is in.
        case.facts.payer_balance = 0;
        assert_eq!(case.decide(), Decision::Wait(awaited), "{method:?}");
    }
    // Fig. 1 needs neither cheque nor board.
    let mut case = Case::new(Method::Confirm);
    case.cheque = None;
    case.board = BoardLookup::NotYetLooked;
    assert_eq!(case.decide(), Decision::AskConfirmation);
}

// ---------------------------------------------------------------- the answer

fn issued(terms: &OrderTerms, wrong_attempts: u8, answered: bool) -> Issued<'_> {
    Issued { bank_key: BANK_KEY, nonce: NONCE, terms, wrong_attempts, answered }
}

/// The OK the orderer writes: the order, A, and the code of the confirmation.
fn answer(terms: &OrderTerms, code: ConfirmationCode) -> Approve {
    Approve { order: terms.order.clone(), password: terms.password.clone(), code }
}

/// A code that is not the one the bank issued.
fn wrong_code(terms: &OrderTerms) -> ConfirmationCode {
    let wrong: ConfirmationCode = must("ZZZZ-ZZZZ");
    assert!(!wrong.matches(&code_for(terms)));
    wrong
}

fn soon(terms: &OrderTerms) -> Timestamp {
    terms.created.plus_seconds(900)
}

fn answered(issued: &Issued<'_>, from: &EmailAddress, answer: &Approve, now: Timestamp) -> Outcome {
    Outcome::Answered(check_answer(issued, from, answer, now))
}

fn ok_from_a_stranger() -> Outcome {
    let terms = terms(Method::Confirm);
    answered(&issued(&terms, 0, false), &stranger(), &answer(&terms, code_for(&terms)), soon(&terms))
}

fn ok_after_expiry() -> Outcome {
    let terms = terms(Method::All);
    answered(&issued(&terms, 0, false), &orderer(), &answer(&terms, code_for(&terms)), terms.expires)
}

fn a_wrong_code() -> Outcome {
    let terms = terms(Method::Confirm);
    answered(&issued(&terms, 0, false), &orderer(), &answer(&terms, wrong_code(&terms)), soon(&terms))
}

fn the_fifth_wrong_code() -> Outcome {
    let terms = terms(Method::Confirm);
    answered(
        &issued(&terms, MAX_ATTEMPTS - 1, false),
        &orderer(),
        &answer(&terms, wrong_code(&terms)),
        soon(&terms),
    )
}

fn a_second_ok() -> Outcome {
    let terms = terms(Method::Confirm);
    answered(&issued(&terms, 0, true), &orderer(), &answer(&terms, code_for(&terms)), soon(&terms))
}

#[test]
fn the_right_ok_settles_however_the_code_is_typed() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        let typed: ConfirmationCode = must(&code_for(&terms).to_string().to_lowercase().replace('-', " "));
        let outcome =
            check_answer(&issued(&terms, 0, false), &orderer(), &answer(&terms, typed), soon(&terms));
        assert_eq!(outcome, AnswerOutcome::Settle, "{method:?}");
        // Earlier wrong answers do not spoil a right one.
        let outcome = check_answer(
            &issued(&terms, MAX_ATTEMPTS - 1, false),
            &orderer(),
            &answer(&terms, code_for(&terms)),
            soon(&terms),
        );
        assert_eq!(outcome, AnswerOutcome::Settle);
    }
}

#[test]
fn wrong_answers_count_down_then_block_the_order() {
    let terms = terms(Method::Confirm);
    let mut left = Vec::new();
    let mut wrong_attempts = 0;
    loop {
        let outcome = check_answer(
            &issued(&terms, wrong_attempts, false),
            &orderer(),
            &answer(&terms, wrong_code(&terms)),
            soon(&terms),
        );
        match outcome {
            AnswerOutcome::TryAgain { attempts_left } => {
                left.push(attempts_left);
                wrong_attempts += 1;
            }
            AnswerOutcome::Reject(reason, _) => {
                assert_eq!(reason, RejectReason::TooManyAttempts);
                break;
            }
            AnswerOutcome::Settle => panic!("a wrong code settled"),
        }
        assert!(wrong_attempts <= MAX_ATTEMPTS, "never blocked");
    }
    assert_eq!(left, vec![4, 3, 2, 1]);
    assert_eq!(wrong_attempts + 1, MAX_ATTEMPTS, "the fifth wrong answer blocks");
    assert_rejects(&the_fifth_wrong_code(), RejectReason::TooManyAttempts, "blocked");
    // Once blocked, even the right code is refused.
    let blocked = issued(&terms, MAX_ATTEMPTS, false);
    let outcome = check_answer(&blocked, &orderer(), &answer(&terms, code_for(&terms)), soon(&terms));
    assert!(matches!(outcome, AnswerOutcome::Reject(RejectReason::TooManyAttempts, _)), "{outcome:?}");
}

#[test]
fn a_wrong_a_or_order_with_the_right_code_is_a_wrong_answer() {
    let terms = terms(Method::Confirm);
    let right = answer(&terms, code_for(&terms));
    for wrong in [
        Approve { password: other_password_a(), ..right.clone() },
        Approve { order: other_order_id(), ..right.clone() },
    ] {
        let outcome = check_answer(&issued(&terms, 1, false), &orderer(), &wrong, soon(&terms));
        assert_eq!(outcome, AnswerOutcome::TryAgain { attempts_left: 3 });
    }
    assert_eq!(a_wrong_code().reason(), Some(RejectReason::CodeMismatch));
}

#[test]
fn payer_mismatch_when_the_ok_comes_from_someone_else() {
    assert_rejects(&ok_from_a_stranger(), RejectReason::PayerMismatch, "mallory@evil.test");
}

#[test]
fn expired_when_the_ok_comes_at_or_after_expiry() {
    assert_rejects(&ok_after_expiry(), RejectReason::Expired, "expired");
    let terms = terms(Method::Confirm);
    let just_in_time = Timestamp(terms.expires.unix() - 1);
    let outcome =
        check_answer(&issued(&terms, 0, false), &orderer(), &answer(&terms, code_for(&terms)), just_in_time);
    assert_eq!(outcome, AnswerOutcome::Settle);
}

#[test]
fn already_answered_on_a_second_ok() {
    assert_rejects(&a_second_ok(), RejectReason::AlreadyAnswered, "already answered");
}

#[test]
fn the_code_is_bound_to_amount_and_payee() {
    // The orderer confirmed 1200 JPY to the shop; the order as the bank now
    // holds it says otherwise, so the same code no longer matches.
    let confirmed = terms(Method::Confirm);
    let ok = answer(&confirmed, code_for(&confirmed));
    let changed = [
        OrderTerms { amount: money("1300 JPY"), ..confirmed.clone() },
        OrderTerms { amount: money("1200 KRW"), ..confirmed.clone() },
        OrderTerms { merchant: other_merchant(), ..confirmed.clone() },
    ];
    for now_held in &changed {
        let outcome = check_answer(&issued(now_held, 0, false), &orderer(), &ok, soon(&confirmed));
        assert_eq!(outcome, AnswerOutcome::TryAgain { attempts_left: MAX_ATTEMPTS - 1 }, "{now_held:?}");
    }
    // A code from another confirmation (another nonce) does not match either.
    let other_nonce = Issued { nonce: b"nonce-2", ..issued(&confirmed, 0, false) };
    assert!(matches!(
        check_answer(&other_nonce, &orderer(), &ok, soon(&confirmed)),
        AnswerOutcome::TryAgain { .. }
    ));
    assert_eq!(
        check_answer(&issued(&confirmed, 0, false), &orderer(), &ok, soon(&confirmed)),
        AnswerOutcome::Settle
    );
}

// ---------------------------------------------------------------- coverage

/// Every scenario above that ends in a refusal, with the reason expected.
fn refusals() -> Vec<(RejectReason, Outcome)> {
    use RejectReason as R;
    let late = TIME_TOLERANCE_SECONDS / 60 + 1;
    let mut out = vec![
        (R::PasswordMismatch, wrong_a_in_bill()),
        (R::AmountMismatch, merchant_raised_amount()),
        (R::AmountMismatch, merchant_changed_currency()),
        (R::PayeeMismatch, bill_from_another_merchant()),
        (R::PayeeMismatch, bill_sent_by_someone_else_than_its_merchant()),
        (R::PayerMismatch, request_sent_by_someone_else_than_the_orderer()),
        (R::PayerMismatch, bill_names_another_orderer()),
        (R::PayerMismatch, ok_from_a_stranger()),
        (R::OrderMismatch, forwarded_order_altered()),
        (R::OrderMismatch, forwarded_order_with_later_expiry()),
        (R::OrderMismatch, bill_for_another_order_id()),
        (R::UnknownPayer, payer_without_account()),
        (R::UnknownPayee, payee_without_account()),
        (R::WrongBank, order_names_another_bank()),
        (R::PasswordReused, password_used_before()),
        (R::Expired, request_after_expiry()),
        (R::Expired, ok_after_expiry()),
        (R::InsufficientFunds, balance_short_by_one()),
        (R::ChequeInvalid, cheque_to_another_bank()),
        (R::ChequeInvalid, cheque_signed_by_a_stranger()),
        (R::BoardMissing, board_without_record()),
        (R::BoardMismatch, board_record(Method::Board, "T.S.", late)),
        (R::BoardMismatch, board_record(Method::Board, "K.Y.", 0)),
        (R::BoardMismatch, board_record_for_another_order()),
        (R::CodeMismatch, a_wrong_code()),
        (R::TooManyAttempts, the_fifth_wrong_code()),
        (R::AlreadyAnswered, a_second_ok()),
        (R::ItemsMismatch, bill_for_other_goods()),
    ];
    for field in ["order", "payer", "payee", "amount", "password a"] {
        out.push((R::ChequeMismatch, cheque_disagreeing_in(field)));
    }
    out
}

#[test]
fn every_reason_the_rule_can_give_is_reached() {
    let mut reached = HashSet::new();
    for (expected, outcome) in refusals() {
        assert_eq!(outcome.reason(), Some(expected), "{outcome:?}");
        reached.insert(expected);
    }
    // `declined`, `merchant-refused` and `duplicate` describe what the
    // orderer, the merchant or the mail flow did, not a disagreement in the
    // evidence: the bank's agent gives them, never this rule.
    let by_the_agent = [RejectReason::Declined, RejectReason::MerchantRefused, RejectReason::Duplicate];
    for reason in RejectReason::ALL {
        assert_eq!(
            reached.contains(reason),
            !by_the_agent.contains(reason),
            "{reason} ({}) is {} by the tests",
            reason.describe(),
            if reached.contains(reason) { "reached" } else { "not reached" }
        );
    }
}

#[test]
fn every_clean_case_goes_ahead() {
    for method in METHODS {
        let decision = Case::new(method).decide();
        let expected = if method.needs_confirmation() { Decision::AskConfirmation } else { Decision::Settle };
        assert_eq!(decision, expected, "{method:?}");
    }
}

// ------------------------------------------------------------------ items
//
// The bill must list the order's items: line for line, in the order's
// order, each with the order's quantity and description as written in the
// block (canonical text: white space collapsed, letter case kept), and the
// order's unit price where the order gives one. Where the order leaves a
// price out, the merchant's price stands (the lines still add up to the
// total). An order without items leaves the bill's items to the orderer,
// who sees them in the confirmation.

/// The reason code a decision rejects with, if any.
fn rejection_code(decision: &Decision) -> Option<&'static str> {
    match decision {
        Decision::Reject(reason, _) => Some(reason.code()),
        _ => None,
    }
}

/// A case whose order (request and forwarded copy alike) lists `ordered`
/// for `amount`, billed with `billed` for the same total.
fn items_case(method: Method, ordered: &[&str], amount: &str, billed: &[&str]) -> Case {
    let mut case = Case::new(method);
    let terms = OrderTerms {
        amount: money(amount),
        items: ordered.iter().map(|i| item(i)).collect(),
        ..case.terms()
    };
    *case.request_mut() = terms.clone();
    let bill = case.bill_mut();
    bill.quoted_order = terms;
    bill.total = money(amount);
    bill.items = billed.iter().map(|i| item(i)).collect();
    case
}

fn bill_for_other_goods() -> Outcome {
    decided(&items_case(
        Method::Confirm,
        &["2 x Green tea 100g @ 600 JPY"],
        "1200 JPY",
        &["1 x Annual premium subscription @ 1200 JPY"],
    ))
}

/// Asserts the case is refused with `items-mismatch` and a detail naming `about`.
fn assert_items_mismatch(case: &Case, about: &str) {
    let decision = case.decide();
    assert_eq!(rejection_code(&decision), Some("items-mismatch"), "{decision:?}");
    let Decision::Reject(_, detail) = &decision else { unreachable!() };
    assert!(detail.contains(about), "the detail should name {about:?}: {detail}");
}

fn goes_ahead(case: &Case) -> bool {
    matches!(case.decide(), Decision::AskConfirmation | Decision::Settle)
}

#[test]
fn items_as_ordered_go_ahead() {
    for method in METHODS {
        let case = items_case(
            method,
            &["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 200 JPY"],
            "1200 JPY",
            &["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 200 JPY"],
        );
        assert!(goes_ahead(&case), "{method:?}: {:?}", case.decide());
    }
}

#[test]
fn items_mismatch_when_the_bill_lists_other_items_for_the_same_total() {
    // The attack: another article billed at the ordered total.
    for method in METHODS {
        let case = items_case(
            method,
            &["2 x Green tea 100g @ 600 JPY"],
            "1200 JPY",
            &["1 x Annual premium subscription, auto-renewing @ 1200 JPY"],
        );
        assert_items_mismatch(&case, "Annual premium subscription");
    }
}

#[test]
fn items_mismatch_when_a_quantity_differs_for_the_same_total() {
    let case = items_case(
        Method::Confirm,
        &["2 x Green tea 100g @ 600 JPY"],
        "1200 JPY",
        &["1 x Green tea 100g @ 1200 JPY"],
    );
    assert_items_mismatch(&case, "2 x Green tea 100g");
}

#[test]
fn items_mismatch_when_the_order_s_own_price_is_changed() {
    // Same lines, same total, the prices moved between them.
    let case = items_case(
        Method::Cheque,
        &["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 200 JPY"],
        "1200 JPY",
        &["2 x Green tea 100g @ 400 JPY", "1 x Teapot @ 400 JPY"],
    );
    assert_items_mismatch(&case, "500 JPY");
}

#[test]
fn items_mismatch_when_a_line_is_added_dropped_or_moved() {
    let ordered = ["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 200 JPY"];
    let dropped = items_case(Method::Confirm, &ordered, "1200 JPY", &["2 x Green tea 100g @ 600 JPY"]);
    assert_items_mismatch(&dropped, "2 items");
    let added = items_case(
        Method::Confirm,
        &ordered,
        "1200 JPY",
        &["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 100 JPY", "1 x Gift wrapping @ 100 JPY"],
    );
    assert_items_mismatch(&added, "Gift wrapping");
    let moved = items_case(
        Method::Confirm,
        &ordered,
        "1200 JPY",
        &["1 x Teapot @ 200 JPY", "2 x Green tea 100g @ 500 JPY"],
    );
    assert_items_mismatch(&moved, "Teapot");
}

#[test]
fn items_mismatch_when_a_description_differs_even_in_letter_case() {
    let case = items_case(
        Method::Confirm,
        &["2 x Green tea 100g @ 600 JPY"],
        "1200 JPY",
        &["2 x Green Tea 100g @ 600 JPY"],
    );
    assert_items_mismatch(&case, "Green Tea 100g");
}

#[test]
fn an_unpriced_order_line_takes_the_merchant_s_price() {
    for method in METHODS {
        let case = items_case(
            method,
            &["2 x Green tea 100g", "Teapot"],
            "1200 JPY",
            &["2 x Green tea 100g @ 500 JPY", "1 x Teapot @ 200 JPY"],
        );
        assert!(goes_ahead(&case), "{method:?}: {:?}", case.decide());
    }
}

#[test]
fn the_canonical_text_ignores_how_a_line_was_typed() {
    // A bare description is one of it, "×" is "x", runs of spaces are one.
    let case =
        items_case(Method::Confirm, &["Green tea   100g"], "1200 JPY", &["1 × Green tea 100g @ 1200 JPY"]);
    assert!(goes_ahead(&case), "{:?}", case.decide());
}

#[test]
fn items_mismatch_when_unpriced_items_are_billed_as_one_summary_line() {
    let case = items_case(
        Method::Confirm,
        &["2 x Green tea 100g", "1 x Teapot"],
        "1200 JPY",
        &["1 x Order 7KQ3-M9ZX-P2VD-H4TR @ 1200 JPY"],
    );
    assert_items_mismatch(&case, "Order 7KQ3-M9ZX-P2VD-H4TR");
}

#[test]
fn an_order_without_items_takes_the_bill_s_items() {
    for method in METHODS {
        let case = items_case(method, &[], "1200 JPY", &["1 x Order 7KQ3-M9ZX-P2VD-H4TR @ 1200 JPY"]);
        assert!(goes_ahead(&case), "{method:?}: {:?}", case.decide());
    }
}

#[test]
fn a_wrong_total_is_still_an_amount_mismatch_whatever_the_items() {
    let mut case = items_case(
        Method::Confirm,
        &["2 x Green tea 100g @ 600 JPY"],
        "1200 JPY",
        &["1 x Annual premium subscription @ 1300 JPY"],
    );
    case.bill_mut().total = money("1300 JPY");
    assert_eq!(rejection_code(&case.decide()), Some("amount-mismatch"));
}
