#!/usr/bin/env bash
# reference-bank.sh - the reference bank (mailpay-bank) in the bank's role
# of the interoperability kit: it turns the contract's environment
# (README.md in this folder) into a mailpay-bank configuration, opens the
# accounts, publishes the bank's age recipient and runs the bank until it
# is stopped (SIGTERM ends mailpay-bank, which this script becomes).
#
#   MAILPAY_BANK_BIN   the mailpay-bank program (default: mailpay-bank on PATH)
#
# Needs python3 to read the accounts' JSON.
set -euo pipefail

for name in ADDRESS USER PASSWORD IMAP_HOST IMAP_PORT SMTP_HOST SMTP_PORT CA_FILE STATE_DIR ACCOUNTS \
    AGE_RECIPIENT; do
    var="MAILPAY_INTEROP_$name"
    [[ -n "${!var:-}" ]] || { echo "reference-bank: $var is not set" >&2; exit 2; }
done
bank="${MAILPAY_BANK_BIN:-mailpay-bank}"
state="$MAILPAY_INTEROP_STATE_DIR"
config="$state/bank.toml"
mkdir -p "$state"

cat >"$config" <<EOF
data_dir = "$state/ledger"
[account]
address = "$MAILPAY_INTEROP_ADDRESS"
username = "$MAILPAY_INTEROP_USER"
ca_file = "$MAILPAY_INTEROP_CA_FILE"
smtp = { host = "$MAILPAY_INTEROP_SMTP_HOST", port = $MAILPAY_INTEROP_SMTP_PORT, security = "${MAILPAY_INTEROP_SMTP_SECURITY:-starttls}" }
imap = { host = "$MAILPAY_INTEROP_IMAP_HOST", port = $MAILPAY_INTEROP_IMAP_PORT, security = "${MAILPAY_INTEROP_IMAP_SECURITY:-tls}" }
EOF
(umask 077 && printf '%s\n' "$MAILPAY_INTEROP_PASSWORD" >"$state/password")

# One account a line: address, amount, currency, wallet key, initials,
# separated by the unit separator (empty fields kept).
python3 - "$MAILPAY_INTEROP_ACCOUNTS" >"$state/accounts" <<'EOF'
import json, sys
for a in json.load(open(sys.argv[1], encoding="utf-8")):
    amount, currency = a["balance"].split()
    print("\x1f".join([a["address"], amount, currency, a.get("wallet_key") or "", a.get("initials") or ""]))
EOF
while IFS=$'\x1f' read -r address amount currency key initials; do
    args=(open-account "$address")
    [[ -z "$key" ]] || args+=(--wallet-key "$key")
    [[ -z "$initials" ]] || args+=(--initials "$initials")
    "$bank" --config "$config" "${args[@]}" >/dev/null
    "$bank" --config "$config" set-balance "$address" "$amount" "$currency" >/dev/null
done <"$state/accounts"

# Published only once the accounts are open: the kit takes the file as the
# sign that the bank is ready.
"$bank" --config "$config" recipient --out "$MAILPAY_INTEROP_AGE_RECIPIENT.part" >/dev/null
mv "$MAILPAY_INTEROP_AGE_RECIPIENT.part" "$MAILPAY_INTEROP_AGE_RECIPIENT"
exec "$bank" --config "$config" run --password-file "$state/password"
