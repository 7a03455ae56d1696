app-name = MailPay

## Payment states (PROTOCOL.md, section 8)
state-draft = Draft
state-sending = Sending
state-sent = Sent
state-awaiting-confirmation = Awaiting your confirmation
state-approved = Approved
state-settled = Settled
state-rejected = Rejected
state-declined = Declined
state-expired = Expired
state-failed = Failed

## Rejection reasons (PROTOCOL.md, section 6.2)
reason-password-mismatch = Password A in the bill differs from the one in the payment request
reason-amount-mismatch = The billed amount differs from the payment request
reason-payee-mismatch = The bill comes from another merchant than the one you pay
reason-payer-mismatch = The mails name or come from someone other than you
reason-order-mismatch = The merchant forwarded a different order
reason-unknown-payer = Your address has no account at this bank
reason-unknown-payee = The merchant has no account at this bank
reason-wrong-bank = The order names another bank
reason-password-reused = Password A was used before
reason-expired = The order expired
reason-insufficient-funds = Your balance does not cover the amount
reason-cheque-invalid = The wallet cheque could not be opened or its signature is wrong
reason-cheque-mismatch = The wallet cheque disagrees with the payment request
reason-board-missing = The merchant's board has no record of the order
reason-board-mismatch = The board record contradicts the mails
reason-code-mismatch = The confirmation code or password A was wrong
reason-too-many-attempts = Too many wrong answers: the order is blocked
reason-already-answered = The order was already answered
reason-declined = You declined the payment
reason-duplicate = A second, different mail arrived for the same step
