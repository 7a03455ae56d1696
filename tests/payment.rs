//! The orderer's payment state machine (`protocol::payment::step`): every
//! path of Figs. 1–4, failures and retries, rejection and expiry, notices
//! that must not be trusted, and a table of which events each state accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::protocol as protocol_support;

use mailpay::protocol::message::Confirm;
use mailpay::protocol::payment::{
    Context, Effect, Event, Mismatch, Notice, Outbound, State, event_name, step,
};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{EmailAddress, Method, OrderTerms, Timestamp};
use protocol_support::{
    CREATED, METHODS, bank, code_for, confirm_for, money, other_merchant, other_order_id, rejected_for,
    settled_for, stranger, terms,
};

fn ctx(terms: &OrderTerms) -> Context<'_> {
    Context { terms, pre_approved: false }
}

fn pre_approved(terms: &OrderTerms) -> Context<'_> {
    Context { terms, pre_approved: true }
}

/// Steps once; the event must be accepted.
fn ok(state: &State, ctx: &Context<'_>, event: &Event) -> (State, Vec<Effect>) {
    match step(state, ctx, event) {
        Ok(next) => next,
        Err(e) => panic!("{event:?} was refused in {state:?}: {e}"),
    }
}

/// Steps through `events`, each of which must be accepted.
fn walk(mut state: State, ctx: &Context<'_>, events: &[Event]) -> (State, Vec<Effect>) {
    let mut all = Vec::new();
    for event in events {
        let (next, effects) = ok(&state, ctx, event);
        state = next;
        all.extend(effects);
    }
    (state, all)
}

/// Asserts that the event is refused and that the error names state and event.
fn refused(state: &State, ctx: &Context<'_>, event: &Event) {
    match step(state, ctx, event) {
        Ok(next) => panic!("{event:?} was accepted in {state:?}: {next:?}"),
        Err(e) => {
            assert_eq!(e.state, state.name());
            assert_eq!(e.event, event_name(event));
            let text = e.to_string();
            assert!(text.contains(state.name()) && text.contains(event_name(event)), "{text}");
        }
    }
}

/// Asserts that the event was taken as a warning: state unchanged, the user told.
fn suspicious(state: &State, ctx: &Context<'_>, event: &Event) -> String {
    let (next, effects) = ok(state, ctx, event);
    assert_eq!(&next, state, "a suspicious {event:?} changed the state");
    match effects.as_slice() {
        [Effect::Notify(Notice::Suspicious(why))] => why.clone(),
        other => panic!("{event:?} in {state:?} should only warn, gave {other:?}"),
    }
}

fn confirm_from(from: EmailAddress, confirm: Confirm) -> Event {
    Event::ConfirmReceived { from, confirm }
}

fn confirmed(terms: &OrderTerms) -> Event {
    confirm_from(bank(), confirm_for(terms))
}

fn settled(terms: &OrderTerms) -> Event {
    Event::SettledReceived { from: bank(), settled: settled_for(terms) }
}

fn rejected(terms: &OrderTerms, reason: RejectReason) -> Event {
    Event::RejectedReceived { from: bank(), rejected: rejected_for(terms, reason) }
}

fn failed(mail: Outbound) -> Event {
    Event::SendFailed { mail, reason: format!("{mail:?}: 451 try later") }
}

/// The mails each figure sends on Pay, in order.
fn mails(method: Method) -> Vec<Outbound> {
    match method {
        Method::Confirm | Method::Board => vec![Outbound::Order, Outbound::PaymentRequest],
        Method::Cheque | Method::All => vec![Outbound::Order, Outbound::PaymentRequest, Outbound::Wallet],
    }
}

fn sending(method: Method) -> State {
    State::Sending { pending: mails(method), board_pending: method.needs_board() }
}

fn awaiting(terms: &OrderTerms) -> State {
    State::AwaitingConfirmation { confirm: confirm_for(terms), mismatches: vec![] }
}

/// A confirmation for 1300 JPY where the orderer agreed to 1200 JPY.
fn inflated(terms: &OrderTerms) -> Confirm {
    Confirm { amount: money("1300 JPY"), ..confirm_for(terms) }
}

fn approved(terms: &OrderTerms, sent: bool) -> State {
    State::Approved { code: code_for(terms), attempts_left: 5, sent }
}

/// Every ordering of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

/// Pay, then every mail (and the board post) accepted in `order`: checks each
/// intermediate state and returns the effects of Pay.
fn pay_and_send(ctx: &Context<'_>, order: &[Event]) -> (State, Vec<Effect>) {
    let method = ctx.terms.method;
    let (mut state, pay_effects) = ok(&State::Draft, ctx, &Event::Pay);
    assert_eq!(state, sending(method));
    let mut done = Vec::new();
    for event in order {
        let (next, effects) = ok(&state, ctx, event);
        assert_eq!(effects, vec![], "accepting a mail has no effect of its own");
        done.push(event.clone());
        let pending: Vec<Outbound> =
            mails(method).into_iter().filter(|m| !done.contains(&Event::Accepted(*m))).collect();
        let board_pending = method.needs_board() && !done.contains(&Event::BoardPosted);
        let expected = if pending.is_empty() && !board_pending {
            State::Sent
        } else {
            State::Sending { pending, board_pending }
        };
        assert_eq!(next, expected, "after {done:?}");
        assert!(!next.is_final());
        state = next;
    }
    (state, pay_effects)
}

/// What finishes the sending of a figure: each mail accepted and the board post.
fn sending_events(method: Method) -> Vec<Event> {
    let mut events: Vec<Event> = mails(method).into_iter().map(Event::Accepted).collect();
    if method.needs_board() {
        events.push(Event::BoardPosted);
    }
    events
}

#[test]
fn pay_sends_exactly_the_mails_of_each_figure() {
    let expected = [
        (Method::Confirm, vec![Effect::Send(Outbound::Order), Effect::Send(Outbound::PaymentRequest)]),
        (
            Method::Cheque,
            vec![
                Effect::Send(Outbound::Order),
                Effect::Send(Outbound::PaymentRequest),
                Effect::Send(Outbound::Wallet),
            ],
        ),
        (
            Method::Board,
            vec![Effect::Send(Outbound::Order), Effect::Send(Outbound::PaymentRequest), Effect::PostBoard],
        ),
        (
            Method::All,
            vec![
                Effect::Send(Outbound::Order),
                Effect::Send(Outbound::PaymentRequest),
                Effect::Send(Outbound::Wallet),
                Effect::PostBoard,
            ],
        ),
    ];
    for (method, effects) in expected {
        let terms = terms(method);
        let (state, got) = ok(&State::Draft, &ctx(&terms), &Event::Pay);
        assert_eq!(got, effects, "{method:?}");
        assert_eq!(state, sending(method), "{method:?}");
    }
}

#[test]
fn every_figure_pays_end_to_end_whatever_order_the_mails_are_accepted_in() {
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let orders = permutations(&sending_events(method));
        let ways = match method {
            Method::Confirm => 2,
            Method::Cheque | Method::Board => 6,
            Method::All => 24,
        };
        assert_eq!(orders.len(), ways);
        for order in orders {
            let (sent, _) = pay_and_send(&ctx, &order);
            assert_eq!(sent, State::Sent, "{method:?} {order:?}");
            let mut state = sent;
            if method.needs_confirmation() {
                let (next, effects) = ok(&state, &ctx, &confirmed(&terms));
                assert_eq!(next, awaiting(&terms));
                assert_eq!(effects, vec![Effect::Notify(Notice::ConfirmationArrived)]);
                let (next, effects) = ok(&next, &ctx, &Event::UserApprove);
                assert_eq!(next, approved(&terms, false));
                assert_eq!(effects, vec![Effect::Send(Outbound::Approve)]);
                let (next, effects) = ok(&next, &ctx, &Event::Accepted(Outbound::Approve));
                assert_eq!(next, approved(&terms, true));
                assert_eq!(effects, vec![]);
                assert!(!next.is_final());
                state = next;
            }
            let (done, effects) = ok(&state, &ctx, &settled(&terms));
            let notice = settled_for(&terms);
            assert_eq!(done, State::Settled { reference: notice.reference, at: notice.settled });
            assert_eq!(effects, vec![Effect::Notify(Notice::Settled)]);
            assert!(done.is_final());
        }
    }
}

#[test]
fn a_settlement_that_overtakes_the_acceptance_of_the_ok_still_settles() {
    let terms = terms(Method::Confirm);
    let (state, effects) = ok(&approved(&terms, false), &ctx(&terms), &settled(&terms));
    assert!(matches!(state, State::Settled { .. }));
    assert_eq!(effects, vec![Effect::Notify(Notice::Settled)]);
}

#[test]
fn pre_approved_payment_answers_a_matching_confirmation_at_once() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        let ctx = pre_approved(&terms);
        let (state, effects) = ok(&State::Sent, &ctx, &confirmed(&terms));
        assert_eq!(state, approved(&terms, false), "{method:?}");
        assert_eq!(effects, vec![Effect::Send(Outbound::Approve)]);
        let (state, _) = walk(state, &ctx, &[Event::Accepted(Outbound::Approve), settled(&terms)]);
        assert!(matches!(state, State::Settled { .. }));
    }
}

#[test]
fn pre_approval_never_covers_a_confirmation_that_differs() {
    let terms = terms(Method::Confirm);
    let ctx = pre_approved(&terms);
    let confirm = Confirm { merchant: other_merchant(), ..inflated(&terms) };
    let (state, effects) = ok(&State::Sent, &ctx, &confirm_from(bank(), confirm.clone()));
    let expected = vec![
        Mismatch::Amount { recorded: "1200 JPY".into(), confirmed: "1300 JPY".into() },
        Mismatch::Payee { recorded: "shop@shop.test".into(), confirmed: "sales@other-shop.test".into() },
    ];
    assert_eq!(state, State::AwaitingConfirmation { confirm, mismatches: expected });
    assert!(
        matches!(effects.as_slice(), [Effect::Notify(Notice::Suspicious(why))] if why.contains("Amount")),
        "{effects:?}"
    );
    assert!(!effects.contains(&Effect::Send(Outbound::Approve)));
    refused(&state, &ctx, &Event::UserApprove);
    let (declined, effects) = ok(&state, &ctx, &Event::UserDecline);
    assert_eq!(declined, State::Declined { sent: false });
    assert_eq!(effects, vec![Effect::Send(Outbound::Decline)]);
}

#[test]
fn a_mismatch_blocks_approval_without_pre_approval_too() {
    let terms = terms(Method::All);
    let ctx = ctx(&terms);
    let confirm = Confirm { orderer: stranger(), ..confirm_for(&terms) };
    let (state, _) = ok(&State::Sent, &ctx, &confirm_from(bank(), confirm));
    let State::AwaitingConfirmation { mismatches, .. } = &state else { panic!("{state:?}") };
    assert_eq!(
        mismatches,
        &vec![Mismatch::Orderer {
            recorded: "taro@buyer.test".into(),
            confirmed: "mallory@evil.test".into()
        }]
    );
    refused(&state, &ctx, &Event::UserApprove);
}

#[test]
fn a_confirmation_repeated_after_approval_waits_for_the_user_even_when_pre_approved() {
    // The bank sends the confirmation again after a wrong answer; answering it
    // automatically with the same code would only waste attempts.
    let terms = terms(Method::Confirm);
    let ctx = pre_approved(&terms);
    let again = Confirm { attempts_left: 4, ..confirm_for(&terms) };
    let (state, effects) = ok(&approved(&terms, true), &ctx, &confirm_from(bank(), again.clone()));
    assert_eq!(state, State::AwaitingConfirmation { confirm: again, mismatches: vec![] });
    assert_eq!(effects, vec![Effect::Notify(Notice::ConfirmationArrived)]);
}

#[test]
fn declining_sends_no_and_ends_once_the_mail_is_accepted() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let (state, effects) = walk(State::Sent, &ctx, &[confirmed(&terms), Event::UserDecline]);
        assert_eq!(state, State::Declined { sent: false });
        assert_eq!(
            effects,
            vec![Effect::Notify(Notice::ConfirmationArrived), Effect::Send(Outbound::Decline)]
        );
        assert!(!state.is_final());
        let (state, effects) = ok(&state, &ctx, &Event::Accepted(Outbound::Decline));
        assert_eq!(state, State::Declined { sent: true });
        assert_eq!(effects, vec![]);
        assert!(state.is_final());
        refused(&state, &ctx, &Event::UserApprove);
        // The bank's acknowledgement of the decline (PROTOCOL.md 5.7) is
        // taken quietly; any other rejection of a declined payment is not.
        let (after, effects) = ok(&state, &ctx, &rejected(&terms, RejectReason::Declined));
        assert_eq!((after, effects), (State::Declined { sent: true }, vec![]));
        refused(&state, &ctx, &rejected(&terms, RejectReason::Expired));
    }
}

/// Counts the `Send`s of each mail in `effects`.
fn sends(effects: &[Effect], mail: Outbound) -> usize {
    effects.iter().filter(|e| **e == Effect::Send(mail)).count()
}

#[test]
fn a_retry_resends_only_what_was_not_accepted() {
    let terms = terms(Method::All);
    let ctx = ctx(&terms);
    let (state, pay) = ok(&State::Draft, &ctx, &Event::Pay);
    let (state, effects) = walk(state, &ctx, &[Event::Accepted(Outbound::Order), Event::BoardPosted]);
    assert_eq!(effects, vec![]);
    let (state, effects) = ok(&state, &ctx, &failed(Outbound::PaymentRequest));
    let left =
        State::Sending { pending: vec![Outbound::PaymentRequest, Outbound::Wallet], board_pending: false };
    assert_eq!(
        state,
        State::Failed { reason: "PaymentRequest: 451 try later".into(), resume: Box::new(left.clone()) }
    );
    assert_eq!(effects, vec![Effect::Notify(Notice::Failed("PaymentRequest: 451 try later".into()))]);
    assert!(!state.is_final());
    let (state, retry) = ok(&state, &ctx, &Event::Retry);
    assert_eq!(state, left);
    assert_eq!(retry, vec![Effect::Send(Outbound::PaymentRequest), Effect::Send(Outbound::Wallet)]);
    let all: Vec<Effect> = pay.iter().chain(&retry).cloned().collect();
    assert_eq!(sends(&all, Outbound::Order), 1, "the accepted order must not be sent twice");
    assert_eq!(all.iter().filter(|e| **e == Effect::PostBoard).count(), 1);
    let (state, _) =
        walk(state, &ctx, &[Event::Accepted(Outbound::Wallet), Event::Accepted(Outbound::PaymentRequest)]);
    assert_eq!(state, State::Sent);
}

#[test]
fn a_failed_board_post_is_retried_alone() {
    let terms = terms(Method::Board);
    let ctx = ctx(&terms);
    let (state, _) = walk(
        State::Draft,
        &ctx,
        &[
            Event::Pay,
            Event::Accepted(Outbound::PaymentRequest),
            Event::Accepted(Outbound::Order),
            Event::BoardFailed { reason: "board answered 503".into() },
        ],
    );
    let (state, retry) = ok(&state, &ctx, &Event::Retry);
    assert_eq!(retry, vec![Effect::PostBoard]);
    assert_eq!(state, State::Sending { pending: vec![], board_pending: true });
    assert_eq!(ok(&state, &ctx, &Event::BoardPosted).0, State::Sent);
}

#[test]
fn a_failed_answer_is_retried_alone() {
    let terms = terms(Method::Confirm);
    let ctx = ctx(&terms);
    for (answer, waiting) in
        [(Outbound::Approve, approved(&terms, false)), (Outbound::Decline, State::Declined { sent: false })]
    {
        let (state, effects) = ok(&waiting, &ctx, &failed(answer));
        assert!(matches!(&state, State::Failed { resume, .. } if **resume == waiting), "{state:?}");
        assert!(matches!(effects.as_slice(), [Effect::Notify(Notice::Failed(_))]));
        let (state, retry) = ok(&state, &ctx, &Event::Retry);
        assert_eq!(state, waiting);
        assert_eq!(retry, vec![Effect::Send(answer)]);
    }
}

#[test]
fn mails_still_in_flight_when_another_fails_are_not_sent_twice() {
    // Pay hands the caller every mail at once; one fails while the others
    // are still being delivered.
    let terms = terms(Method::All);
    let ctx = ctx(&terms);
    let (state, pay) = ok(&State::Draft, &ctx, &Event::Pay);
    let (state, _) = ok(&state, &ctx, &failed(Outbound::Order));
    let (state, effects) = walk(
        state,
        &ctx,
        &[Event::Accepted(Outbound::PaymentRequest), Event::BoardPosted, failed(Outbound::Wallet)],
    );
    assert_eq!(effects, vec![], "outcomes arriving after the failure are only recorded");
    assert!(matches!(state, State::Failed { .. }), "{state:?}");
    let (state, retry) = ok(&state, &ctx, &Event::Retry);
    assert_eq!(
        state,
        State::Sending { pending: vec![Outbound::Order, Outbound::Wallet], board_pending: false }
    );
    assert_eq!(retry, vec![Effect::Send(Outbound::Order), Effect::Send(Outbound::Wallet)]);
    let all: Vec<Effect> = pay.iter().chain(&retry).cloned().collect();
    assert_eq!(sends(&all, Outbound::PaymentRequest), 1);
    assert_eq!(all.iter().filter(|e| **e == Effect::PostBoard).count(), 1);
}

#[test]
fn a_failure_ends_once_the_failed_mail_is_accepted_after_all() {
    // The failed mail went after all (sent again while the failure was
    // being recorded, as a mail client's wallet does): nothing is missing,
    // so the payment is sent, not failed for ever.
    let terms = terms(Method::Confirm);
    let ctx = ctx(&terms);
    let (state, _) = ok(&State::Draft, &ctx, &Event::Pay);
    let (state, _) = walk(state, &ctx, &[Event::Accepted(Outbound::PaymentRequest), failed(Outbound::Order)]);
    assert!(matches!(state, State::Failed { .. }), "{state:?}");
    let (state, effects) = ok(&state, &ctx, &Event::Accepted(Outbound::Order));
    assert_eq!(state, State::Sent);
    assert_eq!(effects, vec![]);
    // An answer that failed and then went is approved and sent.
    let (state, _) = ok(&approved(&terms, false), &ctx, &failed(Outbound::Approve));
    let (state, _) = ok(&state, &ctx, &Event::Accepted(Outbound::Approve));
    assert!(matches!(state, State::Approved { sent: true, .. }), "{state:?}");
}

/// Starts delivering what `effects` ask for; nothing may be sent while it is
/// still in flight or after it was accepted. `None` stands for the board post.
fn start(effects: Vec<Effect>, in_flight: &mut Vec<Option<Outbound>>, accepted: &[Option<Outbound>]) {
    for effect in effects {
        let job = match effect {
            Effect::Send(mail) => Some(mail),
            Effect::PostBoard => None,
            Effect::Notify(_) => continue,
        };
        assert!(!in_flight.contains(&job), "{job:?} sent while still in flight");
        assert!(!accepted.contains(&job), "{job:?} sent again after it was accepted");
        in_flight.push(job);
    }
}

#[test]
fn random_delivery_outcomes_send_each_mail_until_accepted_and_never_twice_at_once() {
    // A deterministic pseudo-random walk over which in-flight mail finishes
    // next and whether it fails, for every figure.
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap_or(0) % n
    };
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        for _ in 0..200 {
            let (mut state, effects) = ok(&State::Draft, &ctx, &Event::Pay);
            let mut in_flight: Vec<Option<Outbound>> = Vec::new();
            let mut accepted: Vec<Option<Outbound>> = Vec::new();
            start(effects, &mut in_flight, &accepted);
            let mut steps = 0;
            while state != State::Sent {
                steps += 1;
                assert!(steps < 100, "{method:?} never got sent: {state:?}");
                if in_flight.is_empty() {
                    let (resumed, effects) = ok(&state, &ctx, &Event::Retry);
                    state = resumed;
                    start(effects, &mut in_flight, &accepted);
                    continue;
                }
                let job = in_flight.remove(next(in_flight.len()));
                let fails = next(3) == 0;
                let event = match (job, fails) {
                    (Some(mail), false) => Event::Accepted(mail),
                    (Some(mail), true) => failed(mail),
                    (None, false) => Event::BoardPosted,
                    (None, true) => Event::BoardFailed { reason: "board down".into() },
                };
                if !fails {
                    accepted.push(job);
                }
                state = ok(&state, &ctx, &event).0;
            }
            let mut expected: Vec<Option<Outbound>> = mails(method).into_iter().map(Some).collect();
            if method.needs_board() {
                expected.push(None);
            }
            accepted.sort();
            expected.sort();
            assert_eq!(accepted, expected, "{method:?}: each mail accepted exactly once");
        }
    }
}

/// One state of each kind for `terms`, named for the tables below.
fn states(terms: &OrderTerms) -> Vec<(&'static str, State)> {
    let method = terms.method;
    let failed_in =
        |resume: State| State::Failed { reason: "452 mailbox full".into(), resume: Box::new(resume) };
    vec![
        ("draft", State::Draft),
        ("sending", sending(method)),
        ("sending-request", State::Sending { pending: vec![Outbound::PaymentRequest], board_pending: false }),
        ("sent", State::Sent),
        ("awaiting", awaiting(terms)),
        (
            "awaiting-mismatch",
            State::AwaitingConfirmation {
                confirm: inflated(terms),
                mismatches: vec![Mismatch::Amount {
                    recorded: "1200 JPY".into(),
                    confirmed: "1300 JPY".into(),
                }],
            },
        ),
        ("approving", approved(terms, false)),
        ("approved", approved(terms, true)),
        ("declining", State::Declined { sent: false }),
        ("declined", State::Declined { sent: true }),
        ("settled", State::Settled { reference: "TX-1".into(), at: CREATED.plus_seconds(60) }),
        ("rejected", State::Rejected { reason: RejectReason::InsufficientFunds, detail: "low".into() }),
        ("expired", State::Expired),
        ("failed-sending", failed_in(sending(method))),
        ("failed-approving", failed_in(approved(terms, false))),
        ("failed-declining", failed_in(State::Declined { sent: false })),
    ]
}

/// One event of each kind, in the columns' order, all from the bank and
/// about this order, the clock before expiry.
fn events(terms: &OrderTerms) -> Vec<Event> {
    let all =
        [Outbound::Order, Outbound::PaymentRequest, Outbound::Wallet, Outbound::Approve, Outbound::Decline];
    let mut events = vec![Event::Pay];
    events.extend(all.map(Event::Accepted));
    events.extend(all.map(failed));
    events.extend([
        Event::BoardPosted,
        Event::BoardFailed { reason: "board down".into() },
        Event::Retry,
        confirmed(terms),
        settled(terms),
        rejected(terms, RejectReason::Expired),
        Event::UserApprove,
        Event::UserDecline,
        Event::Tick(CREATED.plus_seconds(60)),
    ]);
    events
}

/// Which events each state accepts, per figure. `Y`: `step` returns `Ok`
/// (possibly only to warn); `.`: it returns `Err(Illegal)`.
/// Columns: Pay; Accepted(Order, PaymentRequest, Wallet, Approve, Decline);
/// SendFailed(the same five); BoardPosted, BoardFailed, Retry; the bank's
/// confirm, settled and rejected; UserApprove, UserDecline; Tick.
const COLUMNS: &str = "pay  aO aR aW aA aD  fO fR fW fA fD  bp bf rt  cf st rj  ua ud  tk";

const FIG1: &[(&str, &str)] = &[
    //                         pay  aO aR aW aA aD  fO fR fW fA fD  bp bf rt  cf st rj  ua ud  tk
    ("draft", /*            */ "Y    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("sending", /*          */ ".    Y  Y  .  .  .   Y  Y  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("sending-request", /*  */ ".    .  Y  .  .  .   .  Y  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("sent", /*             */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("awaiting", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  .  Y   Y  Y   Y"),
    ("awaiting-mismatch", /**/ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  .  Y   .  Y   Y"),
    ("approving", /*        */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("approved", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("declining", /*        */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  .   .  .  .   .  .   Y"),
    ("declined", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("settled", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("rejected", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("expired", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("failed-sending", /*   */ ".    Y  Y  .  .  .   Y  Y  .  .  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-approving", /* */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-declining", /* */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  Y   .  .  Y   .  .   Y"),
];

const FIG2: &[(&str, &str)] = &[
    //                         pay  aO aR aW aA aD  fO fR fW fA fD  bp bf rt  cf st rj  ua ud  tk
    ("draft", /*            */ "Y    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("sending", /*          */ ".    Y  Y  Y  .  .   Y  Y  Y  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("sending-request", /*  */ ".    .  Y  .  .  .   .  Y  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("sent", /*             */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("awaiting", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  Y   Y  Y   Y"),
    ("awaiting-mismatch", /**/ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  Y   .  Y   Y"),
    ("approving", /*        */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  .   .  Y  Y   .  .   Y"),
    ("approved", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("declining", /*        */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  .   .  .  .   .  .   Y"),
    ("declined", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("settled", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("rejected", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("expired", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("failed-sending", /*   */ ".    Y  Y  Y  .  .   Y  Y  Y  .  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-approving", /* */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-declining", /* */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  Y   .  .  Y   .  .   Y"),
];

const FIG3: &[(&str, &str)] = &[
    //                         pay  aO aR aW aA aD  fO fR fW fA fD  bp bf rt  cf st rj  ua ud  tk
    ("draft", /*            */ "Y    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("sending", /*          */ ".    Y  Y  .  .  .   Y  Y  .  .  .   Y  Y  .   .  Y  Y   .  .   Y"),
    ("sending-request", /*  */ ".    .  Y  .  .  .   .  Y  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("sent", /*             */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("awaiting", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  Y   Y  Y   Y"),
    ("awaiting-mismatch", /**/ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  Y   .  Y   Y"),
    ("approving", /*        */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  .   .  Y  Y   .  .   Y"),
    ("approved", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  Y  Y   .  .   Y"),
    ("declining", /*        */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  .   .  .  .   .  .   Y"),
    ("declined", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("settled", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("rejected", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("expired", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("failed-sending", /*   */ ".    Y  Y  .  .  .   Y  Y  .  .  .   Y  Y  Y   .  .  Y   .  .   Y"),
    ("failed-approving", /* */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-declining", /* */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  Y   .  .  Y   .  .   Y"),
];

const FIG4: &[(&str, &str)] = &[
    //                         pay  aO aR aW aA aD  fO fR fW fA fD  bp bf rt  cf st rj  ua ud  tk
    ("draft", /*            */ "Y    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("sending", /*          */ ".    Y  Y  Y  .  .   Y  Y  Y  .  .   Y  Y  .   Y  Y  Y   .  .   Y"),
    ("sending-request", /*  */ ".    .  Y  .  .  .   .  Y  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("sent", /*             */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("awaiting", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  .  Y   Y  Y   Y"),
    ("awaiting-mismatch", /**/ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  .  Y   .  Y   Y"),
    ("approving", /*        */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("approved", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   Y  Y  Y   .  .   Y"),
    ("declining", /*        */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  .   .  .  .   .  .   Y"),
    ("declined", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("settled", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("rejected", /*         */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("expired", /*          */ ".    .  .  .  .  .   .  .  .  .  .   .  .  .   .  .  .   .  .   Y"),
    ("failed-sending", /*   */ ".    Y  Y  Y  .  .   Y  Y  Y  .  .   Y  Y  Y   .  .  Y   .  .   Y"),
    ("failed-approving", /* */ ".    .  .  .  Y  .   .  .  .  Y  .   .  .  Y   .  .  Y   .  .   Y"),
    ("failed-declining", /* */ ".    .  .  .  .  Y   .  .  .  .  Y   .  .  Y   .  .  Y   .  .   Y"),
];

fn check_table(method: Method, table: &[(&str, &str)]) {
    let terms = terms(method);
    let ctx = ctx(&terms);
    let states = states(&terms);
    let events = events(&terms);
    let columns: Vec<&str> = COLUMNS.split_whitespace().collect();
    assert_eq!(columns.len(), events.len());
    let names: Vec<&str> = states.iter().map(|(n, _)| *n).collect();
    let rows: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    assert_eq!(rows, names, "the table lists every state once, in order");
    let mut wrong = Vec::new();
    for ((name, state), (_, row)) in states.iter().zip(table) {
        let marks: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(marks.len(), events.len(), "row {name}");
        for ((event, mark), column) in events.iter().zip(&marks).zip(&columns) {
            let legal = match *mark {
                "Y" => true,
                "." => false,
                other => panic!("row {name}: {other:?} is neither Y nor ."),
            };
            match step(state, &ctx, event) {
                Ok(_) if legal => {}
                Err(_) if !legal => refused(state, &ctx, event),
                Ok(next) => wrong.push(format!("{name} accepts {column}, giving {next:?}")),
                Err(e) => wrong.push(format!("{name} refuses {column}: {e}")),
            }
        }
    }
    assert!(wrong.is_empty(), "Fig. {}:\n{}", method.figure(), wrong.join("\n"));
}

#[test]
fn every_event_in_every_state_fig1() {
    check_table(Method::Confirm, FIG1);
}

#[test]
fn every_event_in_every_state_fig2() {
    check_table(Method::Cheque, FIG2);
}

#[test]
fn every_event_in_every_state_fig3() {
    check_table(Method::Board, FIG3);
}

#[test]
fn every_event_in_every_state_fig4() {
    check_table(Method::All, FIG4);
}

/// The states that can still end some other way than the one they are in.
fn open(terms: &OrderTerms) -> Vec<(&'static str, State)> {
    let keep = ["sending", "sending-request", "sent", "awaiting", "approving", "approved", "failed-sending"];
    states(terms).into_iter().filter(|(n, _)| keep.contains(n)).collect()
}

#[test]
fn the_bank_can_reject_from_every_open_state() {
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        for (name, state) in open(&terms) {
            for reason in
                [RejectReason::InsufficientFunds, RejectReason::PasswordMismatch, RejectReason::Expired]
            {
                let (next, effects) = ok(&state, &ctx, &rejected(&terms, reason));
                let notice = rejected_for(&terms, reason);
                assert_eq!(next, State::Rejected { reason, detail: notice.detail }, "{method:?} {name}");
                assert_eq!(effects, vec![Effect::Notify(Notice::Rejected(reason))]);
                assert!(next.is_final());
            }
        }
    }
}

#[test]
fn a_rejection_of_another_order_changes_nothing() {
    let terms = terms(Method::Cheque);
    let ctx = ctx(&terms);
    let mut notice = rejected_for(&terms, RejectReason::InsufficientFunds);
    notice.order = other_order_id();
    let why = suspicious(&State::Sent, &ctx, &Event::RejectedReceived { from: bank(), rejected: notice });
    assert!(why.contains("9ZZ9-AB12-CD34-EF56"), "{why}");
}

#[test]
fn open_states_expire_at_expires_and_not_a_second_before() {
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let expiring = [
            "sending",
            "sending-request",
            "sent",
            "awaiting",
            "awaiting-mismatch",
            "failed-sending",
            "failed-approving",
            "failed-declining",
        ];
        for (name, state) in states(&terms) {
            let before = Event::Tick(Timestamp(terms.expires.unix() - 1));
            assert_eq!(ok(&state, &ctx, &before), (state.clone(), vec![]), "{method:?} {name} before expiry");
            for late in
                [terms.expires, terms.expires.plus_seconds(1), terms.expires.plus_seconds(86_400 * 365)]
            {
                let (next, effects) = ok(&state, &ctx, &Event::Tick(late));
                if expiring.contains(&name) {
                    assert_eq!(next, State::Expired, "{method:?} {name} at {late}");
                    assert_eq!(effects, vec![Effect::Notify(Notice::Expired)]);
                } else {
                    // Not yet paid, already answered (the bank decides), or ended.
                    assert_eq!((next, effects), (state.clone(), vec![]), "{method:?} {name} at {late}");
                }
            }
        }
    }
}

#[test]
fn bank_notices_from_anyone_but_the_bank_change_nothing() {
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        for (name, state) in states(&terms) {
            if state.is_final() {
                continue;
            }
            for from in [stranger(), terms.merchant.clone(), terms.orderer.clone()] {
                for event in [
                    confirm_from(from.clone(), confirm_for(&terms)),
                    Event::SettledReceived { from: from.clone(), settled: settled_for(&terms) },
                    Event::RejectedReceived {
                        from: from.clone(),
                        rejected: rejected_for(&terms, RejectReason::Expired),
                    },
                ] {
                    let why = suspicious(&state, &ctx, &event);
                    assert!(why.contains(from.as_str()), "{method:?} {name}: {why}");
                }
            }
        }
    }
}

#[test]
fn a_confirmation_for_another_order_changes_nothing() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        for ctx in [ctx(&terms), pre_approved(&terms)] {
            for state in [State::Sent, awaiting(&terms), approved(&terms, true)] {
                let confirm = Confirm { order: other_order_id(), ..confirm_for(&terms) };
                let why = suspicious(&state, &ctx, &confirm_from(bank(), confirm));
                assert!(why.contains("9ZZ9-AB12-CD34-EF56"), "{why}");
            }
        }
    }
}

#[test]
fn a_settlement_before_approval_in_figs_1_and_4_changes_nothing() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        let ctx = ctx(&terms);
        for state in [sending(method), State::Sent] {
            let why = suspicious(&state, &ctx, &settled(&terms));
            assert!(why.contains("before"), "{why}");
        }
    }
}

#[test]
fn a_settlement_that_differs_from_the_order_changes_nothing() {
    for (method, state) in [
        (Method::Cheque, State::Sent),
        (Method::Board, State::Sent),
        (Method::Cheque, sending(Method::Cheque)),
        (Method::Confirm, approved(&terms(Method::Confirm), true)),
        (Method::All, approved(&terms(Method::All), false)),
    ] {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let right = settled_for(&terms);
        for wrong in [
            mailpay::protocol::message::Settled { amount: money("1300 JPY"), ..right.clone() },
            mailpay::protocol::message::Settled { amount: money("1200 KRW"), ..right.clone() },
            mailpay::protocol::message::Settled { merchant: other_merchant(), ..right.clone() },
            mailpay::protocol::message::Settled { orderer: stranger(), ..right.clone() },
            mailpay::protocol::message::Settled { order: other_order_id(), ..right.clone() },
        ] {
            suspicious(&state, &ctx, &Event::SettledReceived { from: bank(), settled: wrong });
        }
        assert!(matches!(ok(&state, &ctx, &settled(&terms)).0, State::Settled { .. }), "{method:?}");
    }
}

#[test]
fn a_confirmation_replayed_after_approval_changes_nothing_and_warns() {
    let terms = terms(Method::Confirm);
    for ctx in [ctx(&terms), pre_approved(&terms)] {
        for sent in [false, true] {
            let why = suspicious(&approved(&terms, sent), &ctx, &confirmed(&terms));
            assert!(why.contains("already answered arrived again"), "{why}");
        }
    }
}

#[test]
fn the_same_confirmation_twice_while_the_user_decides_changes_nothing_and_warns() {
    let terms = terms(Method::All);
    let why = suspicious(&awaiting(&terms), &ctx(&terms), &confirmed(&terms));
    assert!(why.contains("arrived again"), "{why}");
}

#[test]
fn a_confirmation_with_another_code_after_approval_is_for_the_user_to_review() {
    let terms = terms(Method::Confirm);
    let other = OrderTerms { password: protocol_support::other_password_a(), ..terms.clone() };
    let again = Confirm { code: code_for(&other), attempts_left: 4, ..confirm_for(&terms) };
    assert_ne!(again.code, code_for(&terms));
    let (state, effects) =
        ok(&approved(&terms, true), &pre_approved(&terms), &confirm_from(bank(), again.clone()));
    assert_eq!(state, State::AwaitingConfirmation { confirm: again, mismatches: vec![] });
    assert_eq!(effects, vec![Effect::Notify(Notice::ConfirmationArrived)], "never answered by itself");
}

fn bounced(mail: Outbound) -> Event {
    Event::Bounced { mail, reason: format!("{mail:?}: the merchant's mailbox is full (5.2.2)") }
}

#[test]
fn a_bounced_order_fails_the_payment_and_a_retry_sends_that_mail_alone() {
    for method in METHODS {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let (state, effects) = ok(&State::Sent, &ctx, &bounced(Outbound::Order));
        let State::Failed { reason, resume } = &state else { panic!("{state:?}") };
        assert!(reason.contains("mailbox is full"), "{reason}");
        assert_eq!(effects, vec![Effect::Notify(Notice::Failed(reason.clone()))]);
        assert_eq!(**resume, State::Sending { pending: vec![Outbound::Order], board_pending: false });
        let (state, effects) = ok(&state, &ctx, &Event::Retry);
        assert_eq!(effects, vec![Effect::Send(Outbound::Order)], "Fig. {}", method.figure());
        let (state, _) = ok(&state, &ctx, &Event::Accepted(Outbound::Order));
        assert_eq!(state, State::Sent);
    }
}

#[test]
fn bounces_of_two_mails_are_both_sent_again_on_retry() {
    let terms = terms(Method::Cheque);
    let ctx = ctx(&terms);
    let (state, effects) =
        walk(State::Sent, &ctx, &[bounced(Outbound::Wallet), bounced(Outbound::Order), Event::Retry]);
    assert_eq!(
        state,
        State::Sending { pending: vec![Outbound::Order, Outbound::Wallet], board_pending: false }
    );
    assert_eq!(sends(&effects, Outbound::Order), 1);
    assert_eq!(sends(&effects, Outbound::Wallet), 1);
    assert_eq!(sends(&effects, Outbound::PaymentRequest), 0);
}

#[test]
fn a_bounced_answer_is_sent_again_on_retry() {
    let terms = terms(Method::Confirm);
    let ctx = ctx(&terms);
    let (state, effects) = walk(approved(&terms, true), &ctx, &[bounced(Outbound::Approve), Event::Retry]);
    assert_eq!(state, approved(&terms, false));
    assert_eq!(sends(&effects, Outbound::Approve), 1);
    let (state, effects) =
        walk(State::Declined { sent: true }, &ctx, &[bounced(Outbound::Decline), Event::Retry]);
    assert_eq!(state, State::Declined { sent: false });
    assert_eq!(sends(&effects, Outbound::Decline), 1);
}

#[test]
fn a_bounce_of_a_mail_not_accepted_or_after_the_end_is_refused() {
    let terms = terms(Method::Confirm);
    let ctx = ctx(&terms);
    refused(&sending(Method::Confirm), &ctx, &bounced(Outbound::Order));
    refused(&State::Sent, &ctx, &bounced(Outbound::Approve));
    refused(&approved(&terms, false), &ctx, &bounced(Outbound::Approve));
    refused(&State::Settled { reference: "TX-1".into(), at: CREATED }, &ctx, &bounced(Outbound::Order));
    refused(&State::Expired, &ctx, &bounced(Outbound::PaymentRequest));
}

// ------------------------------------------------------------------ items

/// The confirmation of `terms` with other items at the same total: what a
/// shop that bills something else than was ordered would get confirmed.
fn other_items(terms: &OrderTerms) -> Confirm {
    Confirm {
        items: vec![protocol_support::item("1 x Annual premium subscription, auto-renewing @ 1200 JPY")],
        ..confirm_for(terms)
    }
}

#[test]
fn a_confirmation_with_other_items_is_never_approved_even_when_pre_approved() {
    for method in [Method::Confirm, Method::All] {
        let terms = terms(method);
        for context in [pre_approved(&terms), ctx(&terms)] {
            let confirm = other_items(&terms);
            let (state, effects) = ok(&State::Sent, &context, &confirm_from(bank(), confirm.clone()));
            assert!(!effects.contains(&Effect::Send(Outbound::Approve)), "{method:?}: an OK was sent");
            let State::AwaitingConfirmation { mismatches, .. } = &state else { panic!("{state:?}") };
            let shown = format!("{mismatches:?}");
            assert!(
                shown.contains("2 x Green tea 100g @ 600 JPY")
                    && shown.contains("Annual premium subscription"),
                "the difference names both lists: {shown}"
            );
            assert!(
                matches!(effects.as_slice(), [Effect::Notify(Notice::Suspicious(why))] if why.contains("Annual premium")),
                "{effects:?}"
            );
            refused(&state, &context, &Event::UserApprove);
            let (declined, _) = ok(&state, &context, &Event::UserDecline);
            assert_eq!(declined, State::Declined { sent: false });
        }
    }
}

#[test]
fn a_confirmation_with_another_quantity_or_no_items_blocks_approval() {
    let terms = terms(Method::Confirm);
    let fewer = Confirm {
        items: vec![protocol_support::item("1 x Green tea 100g @ 1200 JPY")],
        ..confirm_for(&terms)
    };
    let none = Confirm { items: vec![], ..confirm_for(&terms) };
    for confirm in [fewer, none] {
        let (state, effects) =
            ok(&State::Sent, &pre_approved(&terms), &confirm_from(bank(), confirm.clone()));
        assert!(!effects.contains(&Effect::Send(Outbound::Approve)), "{confirm:?}");
        let State::AwaitingConfirmation { mismatches, .. } = &state else { panic!("{state:?}") };
        assert!(!mismatches.is_empty(), "{confirm:?}");
        refused(&state, &ctx(&terms), &Event::UserApprove);
    }
}

#[test]
fn an_unpriced_order_line_confirmed_at_the_shop_s_price_is_answered_when_pre_approved() {
    let terms =
        OrderTerms { items: vec![protocol_support::item("2 x Green tea 100g")], ..terms(Method::Confirm) };
    let confirm = Confirm {
        items: vec![protocol_support::item("2 x Green tea 100g @ 600 JPY")],
        ..confirm_for(&terms)
    };
    let (state, effects) = ok(&State::Sent, &pre_approved(&terms), &confirm_from(bank(), confirm));
    assert_eq!(state, approved(&terms, false));
    assert_eq!(effects, vec![Effect::Send(Outbound::Approve)]);
}

#[test]
fn an_order_without_items_is_confirmed_with_the_bill_s_items_for_the_user_to_approve() {
    let terms = OrderTerms { items: vec![], ..terms(Method::Confirm) };
    let confirm = other_items(&terms);
    let (state, _) = ok(&State::Sent, &ctx(&terms), &confirm_from(bank(), confirm.clone()));
    assert_eq!(state, State::AwaitingConfirmation { confirm, mismatches: vec![] });
    let (state, effects) = ok(&state, &ctx(&terms), &Event::UserApprove);
    assert_eq!(state, approved(&terms, false));
    assert_eq!(effects, vec![Effect::Send(Outbound::Approve)]);
}

// -------------------------------------------------------------- duplicate

/// PROTOCOL.md 6.4: a `duplicate` answers a second, different mail for a
/// step to its sender only and leaves the order as it was. Anyone who can
/// get the bank to answer a mail under the orderer's address can make it
/// send one; it must not end the payment.
#[test]
fn a_duplicate_or_already_answered_rejection_leaves_the_payment_as_it_was_and_is_noted() {
    for (method, reason) in
        METHODS.into_iter().flat_map(|m| [(m, RejectReason::Duplicate), (m, RejectReason::AlreadyAnswered)])
    {
        let terms = terms(method);
        let ctx = ctx(&terms);
        let mut cases = open(&terms);
        cases.extend(
            states(&terms).into_iter().filter(|(n, _)| ["failed-approving", "awaiting-mismatch"].contains(n)),
        );
        for (name, state) in cases {
            let (next, effects) = ok(&state, &ctx, &rejected(&terms, reason));
            assert_eq!(next, state, "{method:?} {name}: {reason} changed the payment");
            let notice = rejected_for(&terms, reason);
            assert_eq!(
                effects,
                vec![Effect::Notify(Notice::RefusedAlone { reason, detail: notice.detail })],
                "{method:?} {name}: {reason} is only noted, with the bank's detail"
            );
            // The payment goes on: the real confirmation or settlement still counts.
            if name == "sent" && method.needs_confirmation() {
                let (after, _) = ok(&next, &ctx, &confirmed(&terms));
                assert_eq!(after, awaiting(&terms));
            }
        }
    }
}

#[test]
fn any_other_rejection_still_ends_the_payment() {
    let terms = terms(Method::Confirm);
    let alone = [RejectReason::Duplicate, RejectReason::AlreadyAnswered];
    for reason in RejectReason::ALL.iter().copied().filter(|r| !alone.contains(r)) {
        let (next, effects) = ok(&State::Sent, &ctx(&terms), &rejected(&terms, reason));
        assert!(matches!(next, State::Rejected { reason: r, .. } if r == reason), "{reason}: {next:?}");
        assert_eq!(effects, vec![Effect::Notify(Notice::Rejected(reason))]);
    }
}
