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
reason-items-mismatch = The merchant billed other items than you ordered
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
reason-merchant-refused = The merchant will not fill the order
reason-duplicate = A second, different mail arrived for the same step

## Mail kinds (PROTOCOL.md, section 5)
kind-order = Order to the merchant
kind-payment-request = Payment request to the bank
kind-wallet = Wallet cheque to the bank
kind-bill = Bill
kind-confirm = Confirmation from the bank
kind-approve = OK + A to the bank
kind-decline = Decline to the bank
kind-settled = Settlement notice
kind-rejected = Rejection notice
kind-bounce = Notice that a mail was not delivered
kind-other = A mail

## Desktop wallet: common
loading = Opening your wallet…
broken = The wallet cannot open: { $reason }
working = Working…
saved = Saved.
edit = Edit
back = Back
review = Review
figure = Fig. { $number }
nav-pay = New payment
nav-history = History
nav-contacts = Banks and merchants
nav-settings = Settings

## Welcome
# The window's title on the first screen ("Welcome — MailPay").
welcome-window = Welcome
welcome-title = Pay by e-mail, with a one-time password
welcome-intro = MailPay sends your order to the merchant and a payment request to your bank at the same moment. Your bank pays only when both carry the same one-time password A.
welcome-try-demo = Try the demo
welcome-demo-hint = The demo runs a bank and a merchant inside the app: no account needed.
welcome-set-up = Set up my mail account

## Account
account-title = Mail account
account-address = E-mail address
account-username = Login name (usually the address)
account-imap = Incoming mail (IMAP) server
account-smtp = Outgoing mail (SMTP) server
account-port = Port
account-security = Security
account-password = Password
account-password-hint = Kept in your system's keyring, never in a file.
account-test = Test connection
account-save = Save
account-saved = The account is saved; the password is in the keyring.
account-test-ok = { $server }: connected and logged in.
account-test-failed = { $server }: { $reason }

## Banks and merchants
contacts-title = Banks and merchants
contacts-banks = Your banks
contacts-add-bank = Add or change a bank
contacts-address = Address
contacts-name = Name
contacts-age-key = The bank's age public key (for the wallet cheque)
contacts-account-ref = Your account at this bank
contacts-save-bank = Save bank
contacts-has-key = · cheque key
contacts-merchants = Merchants
contacts-add-merchant = Add or change a merchant
contacts-link = Import from a mailpay: link
contacts-import = Import
contacts-merchant-bank = The merchant's bank
contacts-board = Bulletin board (https://)
contacts-figures = Figures the merchant accepts
contacts-figures-short = figures { $figures }
contacts-save-merchant = Save merchant
contacts-pay = Pay

## New payment
payment-title = New payment
payment-from = Paying from { $address }
payment-from-choice = Pay from
payment-no-account = No mail account is set up yet.
payment-merchant = Merchant
payment-bank = Bank
payment-search = Type to search
payment-items = Items or description
payment-item-placeholder = e.g. 2 x Green tea @ 600 JPY, or just a description
payment-add-item = + Add a line
payment-amount = Amount
payment-currency = Currency
payment-reference = Merchant's reference: { $reference }
payment-password = Password A (sent to the merchant and to your bank)
payment-regenerate = New password
payment-own-password = Type my own password A
payment-password-strong = Strong enough.
payment-options = Options
payment-option-cheque = Send the signed wallet cheque to the bank (Fig. 2)
payment-option-board = Record the order on the merchant's board (Fig. 3)
payment-option-auto = Approve the bank's confirmation automatically when it matches exactly
payment-summary = Pay { $amount } to { $merchant } through { $bank } (Fig. { $figure }).
payment-pay = Pay
payment-recording = Recording…
payment-sending-title = Sending
payment-sent-title = Sent
payment-order = Order { $order }
payment-retry = Retry the mails that failed
payment-sent = Both routes are on their way. The bank will confirm by mail.
payment-another = New payment
mail-sending = Sending…
mail-accepted = Accepted by the mail server
mail-queued = Waiting to be sent
mail-failed = Not sent: { $reason }

## Approval
approval-title = Confirm the payment
approval-recorded = Your order
approval-confirmed = The bank says
approval-order = Order
approval-amount = Amount
approval-merchant = Merchant
approval-orderer = Paid by
approval-items = Items
approval-no-items = (no items)
approval-items-unordered = Your order listed no items: these are the merchant's. Approve only if they are what you are buying.
approval-blocked = The bank's confirmation differs from your order (in red). It cannot be approved: decline it and contact your bank.
approval-expires = Answer before { $expires }; { $attempts } attempts left.
approval-approve = Approve (send OK + A)
approval-decline = Decline
approval-answered = Your answer is sent.
review-not-waiting = Order { $order } is { $state }: nothing to confirm.

## History
history-title = History
history-search = Search merchant or order
history-all-states = All states
history-export = Export CSV
history-count = { $shown } of { $total } payments ({ $ms } ms)
history-empty = No payments yet.
history-exported = Exported to { $path }
history-export-title = Export the history as CSV
history-no-dialog = No save dialog on this desktop ({ $reason }), so the file went to your downloads folder.
history-details = Details
history-answer = Answer
history-resend = Send the waiting mails now
history-detail-title = Order { $order }
timeline-sent = { $kind } → { $peer }
timeline-received = { $kind } ← { $peer }
timeline-raw = Raw mail
timeline-state = The payment is now: { $state }
timeline-not-for-orderer = A copy for you: nothing to do
timeline-unknown-order = About an order this wallet does not know: set aside
history-tab-payments = Payments
history-tab-spending = Spending
overview-period = Period
overview-last-12-months = Last 12 months
overview-this-year = This year
overview-all-time = All time
overview-currency = Currency
overview-none = No settled payments in this period.
overview-total = { $payments ->
    [one] 1 settled payment
   *[other] { $payments } settled payments
}, { $total } in all
overview-by-merchant = By merchant
overview-payments = { $count } paid

## Inbox watcher
watch-idle = Watching the inbox (IDLE)
watch-polling = Checking the inbox every minute
watch-disconnected = Inbox offline ({ $reason }); retrying in { $seconds } s
watch-invalid = A mail claimed to be MailPay but is not valid: { $reason }
watch-set-aside = A MailPay mail could not be taken into the wallet and was moved to the MailPay-Quarantine folder: { $reason }
watch-confirmation = Your bank asks you to confirm order { $order }.
watch-stepped = Order { $order }: { $state }
payments-expired = Expired, past their time limit: { $orders }

## Settings
settings-title = Settings
settings-account = Mail accounts
settings-account-line = { $address } (IMAP { $imap }, SMTP { $smtp })
settings-keyring = Passwords are kept in your system's keyring. A new payment goes from the first account unless you choose another.
settings-initials = Initials on board records
settings-initials-save = Save
settings-initials-hint = Put on the merchant's board when you choose the board record (Fig. 3); your bank compares them with the initials it registered for you.
settings-initials-saved = Board records will carry the initials { $initials }.
settings-edit-account = Change
settings-add-account = Add an account
settings-remove = Remove
settings-keep = Keep
settings-remove-confirm = Remove { $address }? Its password leaves the keyring; its payments stay in the history.
settings-account-removed = { $address } was removed.
settings-wallet-key = Your wallet key
settings-wallet-key-hint = Give it to your bank when you open your account: your wallet signs its cheques (Fig. 2) and board records (Fig. 3) with this key, and the bank accepts only what it signed.
settings-copy = Copy
settings-copied = Copied to the clipboard.
settings-language = Language
settings-language-hint = By default MailPay follows your system's language.
settings-theme = Theme
settings-theme-hint = Light or dark follows your system's setting.

## Demo
watch-demo = Demo: the bank and the merchant run inside the app
demo-started = This is the demo: a throw-away wallet, a bank and a merchant inside the app. Enter an amount and press Pay; tick the cheque or the board record to try Figs. 2 to 4.

## Thunderbird: what the wallet tells the add-on
bridge-connected = MailPay sends and receives the mail of { $address } through Thunderbird.
bridge-account-added = MailPay now pays from { $address } through Thunderbird: no password needed.
bridge-no-account = None of Thunderbird's addresses is a MailPay account set to go through Thunderbird: choose “through Thunderbird” for one in MailPay's Settings → Account.
bridge-standby = Another Thunderbird already carries this wallet's mail; this one stands by.
bridge-review = The bank asks you to confirm paying { $amount } to { $merchant } (order { $order }).
bridge-answered = You approved order { $order } in advance: MailPay answered the bank.
bridge-stepped = Order { $order }: { $state }
bridge-duplicate = MailPay has already taken this mail.
bridge-not-ours = This MailPay mail is not about a payment of this wallet.
bridge-not-mailpay = This is not a MailPay mail.

## The app: accounts whose mail goes through Thunderbird
account-route = Send and watch
account-route-servers = through my mail servers
account-route-thunderbird = through Thunderbird
account-thunderbird-hint = Thunderbird keeps this account and its password: MailPay stores no password for it. MailPay's add-on in Thunderbird hands MailPay the payment mails that arrive and sends MailPay's mails from your account. Set it up once: run `mailpay thunderbird install`, then add the add-on it names in Thunderbird (Add-ons and Themes). While Thunderbird is closed, MailPay's mails wait in its outbox.
account-saved-thunderbird = The account is saved; its mail goes through Thunderbird, and no password is kept.
settings-account-line-thunderbird = { $address } (through Thunderbird)
watch-thunderbird = Through Thunderbird: connected
watch-thunderbird-closed = Thunderbird not running: mails wait in the outbox
watch-thunderbird-other = Thunderbird runs, but MailPay's add-on does not carry this address
mail-waiting = Waits in the outbox: it leaves when Thunderbird runs.
mail-waiting-why = ({ $reason })
payment-send-now = Try to send now
approval-waiting = Your answer waits in the outbox: it leaves when Thunderbird runs.
sent-waiting = The mails wait in the outbox: they leave when Thunderbird runs.

# Finding the servers, and signing in with the provider.
account-looking-up = Looking up the mail servers…
account-source-bundled = Found in MailPay's list of providers: { $provider }
account-source-autoconfig = Published by { $domain } (autoconfig)
account-source-well-known = Published on { $domain } (.well-known)
account-source-srv = From the domain's DNS (SRV)
account-source-mx = Its mail is handled by { $provider }
account-source-mx-domain = Published by its mail host { $host }
account-source-guess = Guessed from the domain — check them
account-tried = Tried { $asked }: { $reason }
account-help-link = Open the help page
account-sign-in-with = Sign in with { $provider }
account-use-app-password = Use an app password instead
account-sign-in-waiting = Waiting for you to sign in in your browser…
account-cancel = Cancel
account-browser-hint = If no browser window opened, open this address in your browser:
account-browser-failed = No browser could be started ({ $reason }). Open this address in your browser:
account-copy = Copy
account-signed-in = Signed in; MailPay keeps the sign-in in your OS keyring.
account-signed-in-with = Signed in with { $provider }
account-sign-in-again = Sign in again
account-no-client-id = This build of MailPay has no registration with { $provider }, so it cannot sign you in there. Make an app password in your { $provider } account settings and use it instead ("Use an app password instead").
account-sign-in-declined = The sign-in was declined in the browser: { $reason }
account-sign-in-timed-out = No answer came from the browser in time, so the sign-in was given up. Try again.
account-sign-in-cancelled = The sign-in was cancelled.
account-sign-in-failed = The sign-in did not work: { $reason }
watch-sign-in-again = Sign in again to watch the inbox
sign-in-needed = The sign-in for { $address } has expired or was revoked: sign in again. The mails wait in the outbox until then.

## Background mode
settings-background = In the background
settings-quit-on-close = Quit when the window is closed
settings-start-at-login = Start at login (in the background, without the window)
settings-background-hint = With the window closed, MailPay keeps watching your inbox: payments you approved in advance are answered, and a confirmation that needs you raises a notification. Open it again from its status icon or by starting MailPay.
background-open = Open MailPay
background-pause = Pause watching
background-resume = Resume watching
background-quit = Quit
background-paused = Watching paused
background-no-tray = The desktop shows no status icon ({ $reason }): start MailPay again to open its window after closing it.
