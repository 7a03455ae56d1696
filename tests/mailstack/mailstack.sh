#!/usr/bin/env bash
# mailstack.sh - a private Postfix + Dovecot mail stack for the test suite.
#
# Usage:
#   mailstack.sh install
#   mailstack.sh start DIR [--owner-pid PID] [--remove-on-exit]
#   mailstack.sh stop DIR | status DIR
#   mailstack.sh stop-postfix DIR | start-postfix DIR | restart-postfix DIR
#   mailstack.sh stop-dovecot DIR | start-dovecot DIR | restart-dovecot DIR
#   mailstack.sh stop-auth DIR | start-auth DIR   (Dovecot auth for SMTP AUTH)
#   mailstack.sh flush DIR    (make Postfix retry deferred mail now)
#   mailstack.sh defer-recipient DIR ADDRESS | accept-recipient DIR ADDRESS
#                             (answer RCPT TO:<ADDRESS> with 451 4.3.2, or stop)
#   mailstack.sh set-uid-validity DIR ADDRESS N
#                             (give ADDRESS's INBOX the UIDVALIDITY N)
# Environment: MAILSTACK_PORT_BASE (default 12500), MAILSTACK_QUOTA (default
# 50M), MAILSTACK_WAIT_SECONDS (start-up wait, default 30).
#
# What it builds
#   Postfix accepts mail on 127.0.0.1 only:
#     SMTP_SUBMISSION_PORT  = base+25  STARTTLS required before AUTH, AUTH required
#     SMTPS_PORT            = base+65  implicit TLS, AUTH required
#   and delivers over LMTP (unix socket DIR/dovecot/lmtp) into Dovecot, which
#   serves IMAP (with IDLE):
#     IMAP_PORT             = base+43  STARTTLS
#     IMAPS_PORT            = base+93  implicit TLS
#   Plaintext logins need TLS (disable_plaintext_auth = yes), but note that
#   Dovecot counts a connection whose client and server address are equal
#   (127.0.0.1 to 127.0.0.1) as secured, so on IMAP_PORT it accepts LOGIN
#   without STARTTLS. Postfix has no such exception: no AUTH before STARTTLS.
#   The certificate (CA in DIR/ca.pem) is valid for localhost, 127.0.0.1 and
#   mail.test.
#   OAuth2: the users in OAUTH_USERS (oauth@buyer.test) also log in with
#   an access token, over XOAUTH2 or OAUTHBEARER, on IMAP and on SMTP
#   submission (through the auth socket). Dovecot's oauth2 passdb checks
#   the token itself (introspection_mode = local): a JWT signed with HS256
#   by the key in DIR/dovecot/oauth-keys/default/HS256/default (base64,
#   also OAUTH_KEY_FILE in DIR/env), with exp, sub, email (the login
#   name) and iss = OAUTH_ISSUER. tests/mailstack/authserver.py issues
#   such tokens.
#   Virtual users (random passwords, written to DIR/env) live on the test
#   domains buyer.test, shop.test, shop2.test, bank.test and bank2.test;
#   unknown recipients there are refused at RCPT time (550), every other
#   domain is refused as relay access (554), and an authenticated user may
#   only use its own address as envelope sender (553 otherwise). Dovecot
#   enforces a storage quota per user (MAILSTACK_QUOTA). Mail is stored as
#   Maildir in DIR/mail/<domain>/<user>. Deferred mail is retried every 5 s.
#
# How it stays private
#   Each stack is a separate Postfix instance started with
#   `postfix -c DIR/postfix`, whose main.cf sets its own queue_directory
#   (DIR/postfix-queue), data_directory (DIR/postfix-data) and
#   maillog_file (DIR/postfix.log, written by the instance's own postlogd).
#   The postfix(1) command run by root accepts -c for any directory, so the
#   default instance's /etc/postfix/main.cf is neither needed nor edited (no
#   alternate_config_directories entry: that setting only matters to the
#   set-gid postdrop/postqueue commands, which the stack does not use since
#   mail only comes in over SMTP; Debian's "No configuration" choice leaves
#   /etc/postfix/main.cf absent, which is fine).
#   Dovecot runs as two instances, each with its own base_dir, state_dir,
#   instance_name and log file:
#     dovecot -c DIR/dovecot/dovecot.conf  IMAP + LMTP      (DIR/dovecot.log)
#     dovecot -c DIR/dovecot/auth.conf     auth socket DIR/dovecot/auth for
#                                          Postfix SASL     (DIR/dovecot-auth.log)
#   so that stop-dovecot takes IMAP and LMTP down while SMTP AUTH keeps
#   working and submitted mail waits in Postfix's queue.
#   Several stacks (different DIR and base) can run side by side.
#   `install` stops and disables the system-wide postfix/dovecot services
#   that the packages may have started; the stack never uses them.
#
# Files in DIR
#   env            KEY=VALUE lines (shell-sourcable), see write_env below
#   ca.pem         the CA that signed server.pem (CA_FILE)
#   server.pem/.key  certificate for localhost, 127.0.0.1 and mail.test
#   postfix/       main.cf, master.cf, maps (config_directory)
#   postfix-queue/, postfix-data/  queue_directory, data_directory
#   dovecot/       dovecot.conf, auth.conf, users, run/ and auth-run/
#                  (base_dirs), state dirs, the lmtp and auth sockets
#   mail/          Maildirs
#   postfix.log, dovecot.log, dovecot-auth.log, *.out (start-up output),
#   watchdog.log
#
# --owner-pid PID starts a detached watchdog that runs `stop DIR` once PID
# has exited (and removes DIR when --remove-on-exit is given).
set -euo pipefail

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
USERS=(orderer@buyer.test orderer2@buyer.test shop@shop.test shop2@shop2.test bank@bank.test bank2@bank2.test oauth@buyer.test)
# Users who also log in with an OAuth2 access token (XOAUTH2, OAUTHBEARER).
OAUTH_USERS=(oauth@buyer.test)
DOMAINS=(buyer.test shop.test shop2.test bank.test bank2.test)
# python3 is not needed by the stack itself but by the smoke test's TLS clients.
# keyutils: keyctl, for the tests that keep passwords in the kernel keyring.
# chromium: headless, for the test that renders the board page (tests/board_http.rs).
# thunderbird, libnss3-tools (certutil), zip, unzip: the MailPay add-on in a real
# headless Thunderbird (tests/support/thunderbird.rs, tests/thunderbird_addon.rs);
# thunderbird-l10n-ja: the same in Japanese (tests/thunderbird_answers.rs).
# dnsmasq-base: the DNS server of the mail-server lookup's tests (tests/autoconfig.rs).
# python3-authlib, python3-flask: the OAuth2 authorization server of the
# OAuth2 tests (tests/mailstack/authserver.py, tests/oauth.rs);
# chromium-driver: the browser a person signs in with there, driven over
# WebDriver (tests/mailstack/browser.py).
# xvfb: the X server the wallet's window opens on in background mode's test,
# with dbus-daemon's session bus (tests/background.rs).
# wine64, wixl, gcc-mingw-w64-x86-64: the Windows build, its MSI and the
# wallet run under Wine (packaging/windows/build.sh, tests/windows.rs).
PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl ca-certificates procps util-linux python3 keyutils chromium dbus-daemon thunderbird thunderbird-l10n-ja libnss3-tools zip unzip dnsmasq-base python3-authlib python3-flask chromium-driver xvfb wine64 wixl gcc-mingw-w64-x86-64)
VMAIL_USER=vmail
LOCK_FILE=/run/lock/mailstack-install.lock
[[ -d /run/lock && -w /run/lock ]] || LOCK_FILE=/tmp/.mailstack-install.lock
WAIT_SECONDS="${MAILSTACK_WAIT_SECONDS:-30}"
# The `iss` of the stack's OAuth2 tokens.
OAUTH_ISSUER="https://auth.mailstack.test/"

die() {
    echo "mailstack: error: $*" >&2
    exit 1
}

log() {
    echo "mailstack: $*" >&2
}

usage() {
    sed -n '3,15p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------- install ---

missing_packages() {
    local p status
    for p in "${PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
        if [[ "$status" != "installed" ]]; then
            echo "$p"
        fi
    done
}

ensure_vmail_user() {
    if ! getent group "$VMAIL_USER" >/dev/null; then
        groupadd --system "$VMAIL_USER" 2>/dev/null || getent group "$VMAIL_USER" >/dev/null \
            || die "cannot create group $VMAIL_USER"
    fi
    if ! getent passwd "$VMAIL_USER" >/dev/null; then
        useradd --system --gid "$VMAIL_USER" --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$VMAIL_USER" 2>/dev/null \
            || getent passwd "$VMAIL_USER" >/dev/null || die "cannot create user $VMAIL_USER"
    fi
}

# Stop and disable the system-wide instances the packages may have started.
quiet_system_services() {
    local svc
    for svc in postfix dovecot; do
        if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
            systemctl disable --now "$svc" >/dev/null 2>&1 || true
        elif command -v update-rc.d >/dev/null 2>&1; then
            update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
    done
    # Without systemd the package scripts may still have started them.
    if [[ -s /var/spool/postfix/pid/master.pid ]] \
        && kill -0 "$(tr -dc 0-9 </var/spool/postfix/pid/master.pid)" 2>/dev/null; then
        postfix stop >/dev/null 2>&1 || true
    fi
    if [[ -s /run/dovecot/master.pid ]] \
        && kill -0 "$(tr -dc 0-9 </run/dovecot/master.pid)" 2>/dev/null; then
        dovecot stop >/dev/null 2>&1 || true
    fi
}

cmd_install() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)) && getent passwd "$VMAIL_USER" >/dev/null; then
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || die "install needs root (missing: ${missing[*]:-user $VMAIL_USER})"
    take_lock
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} > 0)); then
        log "installing ${missing[*]}"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null || die "apt-get update failed"
        apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
        quiet_system_services
    fi
    ensure_vmail_user
    release_lock
}

# ------------------------------------------------------------------ helpers ---

# Serialises installs and user creation between stacks started in parallel.
take_lock() {
    exec 8>>"$LOCK_FILE"
    flock -w 600 8 || die "timed out waiting for $LOCK_FILE"
}

release_lock() {
    exec 8>&-
}

key_of() { # orderer@buyer.test -> orderer_buyer_test
    local k="${1//@/_}"
    echo "${k//./_}"
}

env_get() { # DIR KEY
    local line
    [[ -f "$1/env" ]] || die "$1/env not found (was the stack started?)"
    while IFS= read -r line; do
        if [[ "$line" == "$2="* ]]; then
            echo "${line#*=}"
            return 0
        fi
    done <"$1/env"
    die "$2 missing from $1/env"
}

abs_dir() {
    [[ -n "${1:-}" ]] || usage
    local d="$1"
    [[ "$d" == /* ]] || d="$PWD/$d"
    # Strip trailing slashes, keep it literal (the directory may not exist yet).
    while [[ "$d" == */ && "$d" != / ]]; do d="${d%/}"; done
    [[ "$d" =~ ^[A-Za-z0-9/._+-]+$ ]] || die "DIR must only contain [A-Za-z0-9/._+-]: $d"
    echo "$d"
}

port_open() { # PORT
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

banner_ok() { # PORT PREFIX BYE-COMMAND
    local line
    # shellcheck disable=SC2016
    line="$(timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 2 l <&3
        printf "%s\r\n" "$2" >&3
        IFS= read -r -t 2 _ <&3
        printf "%s" "$l"' banner "$1" "$3" 2>/dev/null)" || true
    [[ "$line" == "$2"* ]]
}

# Implicit-TLS port: completes a handshake verified against DIR's CA.
tls_ok() { # PORT DIR
    timeout 5 openssl s_client -connect "127.0.0.1:$1" -CAfile "$2/ca.pem" \
        -verify_return_error -verify_hostname localhost </dev/null >/dev/null 2>&1
}

# A pid counts as alive unless it is gone or a zombie (in containers whose
# init does not reap orphans, exited daemons can linger as zombies).
pid_alive() {
    [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

read_pid() { # FILE
    if [[ -s "$1" ]]; then tr -dc 0-9 <"$1" || true; fi
}

# Wait up to TENTHS/10 seconds until all PIDS are gone; returns 1 if some
# are left.
wait_gone() { # TENTHS PID...
    local tenths="$1" p alive i
    shift
    for ((i = 0; i < tenths; i++)); do
        alive=0
        for p in "$@"; do
            if pid_alive "$p"; then alive=1; fi
        done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

# Wait for PIDS to exit; SIGKILL whatever is left after SECONDS.
wait_or_kill() { # SECONDS PID...
    local secs="$1" p
    shift
    wait_gone $((secs * 10)) "$@" && return 0
    for p in "$@"; do
        if pid_alive "$p"; then
            log "pid $p ($(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null || true)) did not exit, killing it"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait_gone 50 "$@" || true
}

tail_logs() { # DIR FILE...
    local dir="$1" f
    shift
    for f in "$@"; do
        if [[ -s "$dir/$f" ]]; then
            echo "----- last lines of $dir/$f -----" >&2
            tail -n 40 "$dir/$f" >&2
        fi
    done
}

# -------------------------------------------------------------- generation ---

make_certs() {
    local dir="$1" ext
    ext="$dir/server.ext"
    cat >"$ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:mail.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/O=mailstack/CN=mailstack test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" >/dev/null 2>"$dir/openssl.out" \
        || { cat "$dir/openssl.out" >&2; die "CA generation failed"; }
    openssl req -new -newkey rsa:2048 -nodes -sha256 \
        -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/O=mailstack/CN=localhost" \
        >/dev/null 2>"$dir/openssl.out" \
        || { cat "$dir/openssl.out" >&2; die "server key generation failed"; }
    openssl x509 -req -sha256 -days 825 -in "$dir/server.csr" -CA "$dir/ca.pem" \
        -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 8)" -extfile "$ext" \
        -out "$dir/server.pem" >/dev/null 2>"$dir/openssl.out" \
        || { cat "$dir/openssl.out" >&2; die "server certificate signing failed"; }
    rm -f "$dir/server.csr" "$dir/openssl.out"
    chmod 0644 "$dir/ca.pem" "$dir/server.pem"
    chmod 0600 "$dir/ca.key" "$dir/server.key"
}

write_postfix_config() {
    local dir="$1" base="$2" pf="$1/postfix" u
    mkdir -p "$pf"
    : >"$pf/vmailbox"
    : >"$pf/senders"
    : >"$pf/deferred_recipients"
    for u in "${USERS[@]}"; do
        echo "$u ${u#*@}/${u%@*}/" >>"$pf/vmailbox"
        echo "$u $u" >>"$pf/senders"
    done
    cat >"$pf/main.cf" <<EOF
# Private Postfix instance of mailstack.sh (port base $base).
compatibility_level = 3.6
config_directory = $pf
queue_directory = $dir/postfix-queue
data_directory = $dir/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
syslog_name = postfix-mailstack-$base
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
biff = no
append_dot_mydomain = no
readme_directory = no

myhostname = mail.test
mydomain = mail.test
myorigin = mail.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
default_transport = error:5.7.1 relaying is disabled
relay_transport = error:5.7.1 relaying is disabled
smtp_dns_support_level = disabled

virtual_mailbox_domains = ${DOMAINS[*]}
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_transport = lmtp:unix:$dir/dovecot/lmtp
lmtp_tls_security_level = none
smtpd_reject_unlisted_recipient = yes

smtpd_banner = \$myhostname ESMTP mailstack
smtpd_tls_chain_files = $dir/server.key, $dir/server.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dir/dovecot/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_authenticated_header = yes
smtpd_sasl_security_options = noanonymous
smtpd_sender_login_maps = texthash:$pf/senders
smtpd_helo_required = yes
smtpd_client_restrictions = permit_sasl_authenticated, reject
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$pf/deferred_recipients, permit_sasl_authenticated, reject
smtpd_delay_reject = yes

# Retry quickly, so tests that stop Dovecot for a while see delivery resume.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 20s
delay_warning_time = 0h
EOF
    cat >"$pf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$((base + 25)) inet n - n - - smtpd
  -o syslog_name=postfix-mailstack-$base/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
127.0.0.1:$((base + 65)) inet n - n - - smtpd
  -o syslog_name=postfix-mailstack-$base/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    # postfix(1) needs the queue directory to exist (root-owned); its
    # post-install create-missing step makes the subdirectories and the
    # data directory with the right owners on start.
    mkdir -p "$dir/postfix-queue"
    chmod 0755 "$dir/postfix-queue"
    chmod 0755 "$pf"
    chmod 0644 "$pf/main.cf" "$pf/master.cf" "$pf/vmailbox" "$pf/senders" "$pf/deferred_recipients"
}

# The HS256 key the OAuth2 tokens are signed with, where Dovecot's fs dict
# finds it (KEYDIR/<azp or default>/<alg>/<kid or default>), and the oauth2
# passdb's settings.
write_oauth_config() {
    local dir="$1" dc="$1/dovecot" keys="$1/dovecot/oauth-keys" group
    group="$(id -gn dovecot 2>/dev/null || echo root)"
    mkdir -p "$keys/default/HS256"
    openssl rand -base64 32 | tr -d '\n' >"$keys/default/HS256/default"
    chown -R "root:$group" "$keys"
    chmod 0750 "$keys" "$keys/default" "$keys/default/HS256"
    chmod 0640 "$keys/default/HS256/default"
    cat >"$dc/oauth2.conf.ext" <<EOF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$keys/
username_attribute = email
issuers = $OAUTH_ISSUER
EOF
    chmod 0644 "$dc/oauth2.conf.ext"
}

write_dovecot_config() {
    local dir="$1" base="$2" quota="$3" dc="$1/dovecot" u pass key
    mkdir -p "$dc/run" "$dc/state" "$dir/mail"
    : >"$dc/users"
    for u in "${USERS[@]}"; do
        key="$(key_of "$u")"
        pass="${PASSWORDS[$key]}"
        echo "$u:{PLAIN}$pass::::::" >>"$dc/users"
    done
    local dh=""
    if [[ -r /usr/share/dovecot/dh.pem ]]; then
        dh="ssl_dh = </usr/share/dovecot/dh.pem"
    fi
    cat >"$dc/dovecot.conf" <<EOF
# Private Dovecot instance of mailstack.sh (port base $base).
instance_name = mailstack-$base
base_dir = $dc/run
state_dir = $dc/state
protocols = imap lmtp
listen = 127.0.0.1
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
debug_log_path = $dir/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
shutdown_clients = yes

ssl = yes
ssl_cert = <$dir/server.pem
ssl_key = <$dir/server.key
ssl_min_protocol = TLSv1.2
$dh

disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
auth_username_format = %Lu
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
mail_uid = $VMAIL_USER
mail_gid = $VMAIL_USER
mail_location = maildir:$dir/mail/%d/%n
mail_plugins = \$mail_plugins quota

passdb {
  driver = passwd-file
  args = username_format=%u $dc/users
  mechanisms = plain login
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $dc/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u $dc/users
  default_fields = uid=$VMAIL_USER gid=$VMAIL_USER home=$dir/mail/%d/%n
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
  }
}

plugin {
  quota = maildir:User quota
  quota_rule = *:storage=$quota
}

protocol imap {
  mail_plugins = \$mail_plugins imap_quota
  mail_max_userip_connections = 100
}
protocol lmtp {
  mail_plugins = \$mail_plugins
  postmaster_address = postmaster@mail.test
}
lmtp_rcpt_check_quota = yes
lmtp_save_to_detail_mailbox = no

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $((base + 43))
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $((base + 93))
    ssl = yes
  }
}
# No authentication penalty (growing delays after failed logins from the
# same IP, i.e. 127.0.0.1 for every test): without this listener the auth
# process finds no anvil-auth-penalty socket and skips the penalty.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service lmtp {
  unix_listener $dc/lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
EOF
    # Postfix's SASL goes to a second, auth-only Dovecot instance, so that
    # stop-dovecot (IMAP and LMTP down) leaves SMTP submission working and
    # mail queues in Postfix until Dovecot is back.
    cat >"$dc/auth.conf" <<EOF
# Auth-only Dovecot instance of mailstack.sh for Postfix SASL (port base $base).
instance_name = mailstack-auth-$base
base_dir = $dc/auth-run
state_dir = $dc/auth-state
protocols = none
listen = 127.0.0.1
log_path = $dir/dovecot-auth.log
info_log_path = $dir/dovecot-auth.log
debug_log_path = $dir/dovecot-auth.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
ssl = no
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
auth_username_format = %Lu
auth_failure_delay = 0

passdb {
  driver = passwd-file
  args = username_format=%u $dc/users
  mechanisms = plain login
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $dc/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u $dc/users
  default_fields = uid=$VMAIL_USER gid=$VMAIL_USER home=$dir/mail/%d/%n
}

# No authentication penalty (growing delays after failed logins from the
# same IP, i.e. 127.0.0.1 for every test): without this listener the auth
# process finds no anvil-auth-penalty socket and skips the penalty.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener $dc/auth {
    mode = 0600
    user = postfix
    group = postfix
  }
}
EOF
    mkdir -p "$dc/auth-run" "$dc/auth-state"
    chmod 0755 "$dc"
    # Read by Dovecot's auth processes, which run as the dovecot user.
    chown "root:$(id -gn dovecot 2>/dev/null || echo root)" "$dc/users"
    chmod 0640 "$dc/users"
    chmod 0644 "$dc/dovecot.conf" "$dc/auth.conf"
    chown "$VMAIL_USER:$VMAIL_USER" "$dir/mail"
    chmod 0750 "$dir/mail"
}

write_env() {
    local dir="$1" base="$2" u key tmp="$1/env.tmp"
    {
        echo "MAILSTACK_DIR=$dir"
        echo "MAILSTACK_PORT_BASE=$base"
        echo "SMTP_HOST=127.0.0.1"
        echo "SMTP_SUBMISSION_PORT=$((base + 25))"
        echo "SMTPS_PORT=$((base + 65))"
        echo "IMAP_HOST=127.0.0.1"
        echo "IMAP_PORT=$((base + 43))"
        echo "IMAPS_PORT=$((base + 93))"
        echo "CA_FILE=$dir/ca.pem"
        echo "MAIL_DIR=$dir/mail"
        echo "POSTFIX_LOG=$dir/postfix.log"
        echo "DOVECOT_LOG=$dir/dovecot.log"
        echo "MAILSTACK_USERS=\"${USERS[*]}\""
        echo "OAUTH_USERS=\"${OAUTH_USERS[*]}\""
        echo "OAUTH_ISSUER=$OAUTH_ISSUER"
        echo "OAUTH_KEY_FILE=$dir/dovecot/oauth-keys/default/HS256/default"
        for u in "${USERS[@]}"; do
            key="$(key_of "$u")"
            echo "USER_$key=$u"
            echo "PASS_$key=${PASSWORDS[$key]}"
        done
    } >"$tmp"
    chmod 0644 "$tmp"
    mv "$tmp" "$dir/env"
}

# ---------------------------------------------------------- process control ---

postfix_pid() { read_pid "$1/postfix-queue/pid/master.pid"; }

# Dovecot instances: "imap" (IMAP + LMTP) and "auth" (SASL for Postfix).
dovecot_conf() { # DIR INSTANCE
    case "$2" in
    imap) echo "$1/dovecot/dovecot.conf" ;;
    auth) echo "$1/dovecot/auth.conf" ;;
    esac
}
dovecot_pid() { # DIR INSTANCE
    case "$2" in
    imap) read_pid "$1/dovecot/run/master.pid" ;;
    auth) read_pid "$1/dovecot/auth-run/master.pid" ;;
    esac
}
dovecot_log() { # INSTANCE
    case "$1" in
    imap) echo dovecot.log ;;
    auth) echo dovecot-auth.log ;;
    esac
}

postfix_ready() {
    local dir="$1" base
    base="$(env_get "$dir" MAILSTACK_PORT_BASE)"
    pid_alive "$(postfix_pid "$dir")" && banner_ok $((base + 25)) "220 " QUIT && tls_ok $((base + 65)) "$dir"
}

dovecot_imap_ready() {
    local dir="$1" base
    base="$(env_get "$dir" MAILSTACK_PORT_BASE)"
    pid_alive "$(dovecot_pid "$dir" imap)" && [[ -S "$dir/dovecot/lmtp" ]] \
        && banner_ok $((base + 43)) "* OK" "a LOGOUT" && tls_ok $((base + 93)) "$dir"
}

dovecot_auth_ready() {
    pid_alive "$(dovecot_pid "$1" auth)" && [[ -S "$1/dovecot/auth" ]]
}

wait_ready() { # DIR NAME CHECK-FN LOGS...
    local dir="$1" name="$2" check="$3" i
    shift 3
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
        if "$check" "$dir"; then
            return 0
        fi
        sleep 0.2
    done
    echo "mailstack: error: $name did not become ready within ${WAIT_SECONDS}s" >&2
    tail_logs "$dir" "$@"
    return 1
}

cmd_start_postfix() {
    local dir="$1" pid
    pid="$(postfix_pid "$dir")"
    if pid_alive "$pid"; then
        log "postfix of $dir already running (pid $pid)"
    else
        # Creates the queue directories with the right owners and checks the
        # configuration, then starts master(8) and waits for it (-w).
        if ! postfix -c "$dir/postfix" start >"$dir/postfix-start.out" 2>&1 </dev/null; then
            echo "mailstack: error: postfix -c $dir/postfix start failed" >&2
            tail_logs "$dir" postfix-start.out postfix.log
            exit 1
        fi
    fi
    wait_ready "$dir" postfix postfix_ready postfix-start.out postfix.log || exit 1
}

cmd_stop_postfix() {
    local dir="$1" pid kids
    pid="$(postfix_pid "$dir")"
    if ! pid_alive "$pid"; then
        return 0
    fi
    kids="$(pgrep -P "$pid" || true)"
    postfix -c "$dir/postfix" stop >>"$dir/postfix-stop.out" 2>&1 </dev/null || kill -TERM "$pid" 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_or_kill 15 "$pid" $kids
}

start_dovecot_instance() { # DIR INSTANCE
    local dir="$1" inst="$2" pid conf logf out
    conf="$(dovecot_conf "$dir" "$inst")"
    logf="$(dovecot_log "$inst")"
    out="dovecot-$inst-start.out"
    pid="$(dovecot_pid "$dir" "$inst")"
    if pid_alive "$pid"; then
        log "dovecot ($inst) of $dir already running (pid $pid)"
    else
        # Sockets left by a killed instance would fool the readiness check
        # (and a stale anvil-auth-penalty socket would bring back the
        # penalty's connection attempts).
        if [[ "$inst" == imap ]]; then
            rm -f "$dir/dovecot/lmtp" "$dir/dovecot/run/anvil-auth-penalty"
        else
            rm -f "$dir/dovecot/auth" "$dir/dovecot/auth-run/anvil-auth-penalty"
        fi
        if ! dovecot -c "$conf" >"$dir/$out" 2>&1 </dev/null; then
            echo "mailstack: error: dovecot -c $conf failed" >&2
            tail_logs "$dir" "$out" "$logf"
            exit 1
        fi
    fi
    wait_ready "$dir" "dovecot ($inst)" "dovecot_${inst}_ready" "$out" "$logf" || exit 1
}

stop_dovecot_instance() { # DIR INSTANCE
    local dir="$1" inst="$2" pid kids
    pid="$(dovecot_pid "$dir" "$inst")"
    if ! pid_alive "$pid"; then
        return 0
    fi
    kids="$(pgrep -P "$pid" || true)"
    kill -TERM "$pid" 2>/dev/null || true
    # Dovecot's master waits a while for its log and auth processes, which
    # linger while clients such as Postfix's smtpd keep connections open:
    # after a short grace period, end them directly.
    # shellcheck disable=SC2086
    if ! wait_gone 3 "$pid" $kids; then
        # shellcheck disable=SC2086
        kill -TERM "$pid" $kids 2>/dev/null || true
    fi
    # shellcheck disable=SC2086
    wait_or_kill 10 "$pid" $kids
}

cmd_start_dovecot() { start_dovecot_instance "$1" imap; }
cmd_stop_dovecot() { stop_dovecot_instance "$1" imap; }
cmd_start_auth() { start_dovecot_instance "$1" auth; }
cmd_stop_auth() { stop_dovecot_instance "$1" auth; }

start_watchdog() { # DIR OWNER-PID REMOVE
    local dir="$1" owner="$2" remove="$3"
    # Fully detached: own session, no inherited stdio, so whoever ran
    # `start` (e.g. cargo test) is not kept waiting on our pipes.
    # shellcheck disable=SC2016
    setsid bash -c '
        owner="$1"; dir="$2"; script="$3"; remove="$4"
        echo $$ >"$dir/watchdog.pid"
        alive() {
            local st
            st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
            st="${st##*) }"
            [[ "${st:0:1}" != Z ]]
        }
        while alive "$owner"; do sleep 1; done
        echo "owner $owner gone at $(date "+%F %T"), stopping $dir"
        MAILSTACK_FROM_WATCHDOG=1 bash "$script" stop "$dir" || true
        if [[ "$remove" == 1 ]]; then rm -rf -- "$dir"; fi
    ' mailstack-watchdog "$owner" "$dir" "$SCRIPT" "$remove" \
        </dev/null >>"$dir/watchdog.log" 2>&1 &
    disown || true
}

# --------------------------------------------------------------- commands ---

declare -A PASSWORDS=()

cmd_start() {
    local dir owner="" remove=0 base quota p u
    dir="$(abs_dir "${1:-}")"
    shift
    while (($#)); do
        case "$1" in
        --owner-pid) owner="${2:?--owner-pid needs a pid}"; shift 2 ;;
        --remove-on-exit) remove=1; shift ;;
        *) die "unknown option for start: $1" ;;
        esac
    done
    [[ "$(id -u)" == 0 ]] || die "start needs root (postfix and dovecot run their own privileged masters)"
    for p in postfix dovecot openssl; do
        command -v "$p" >/dev/null 2>&1 || die "$p not found: run '$SCRIPT install' first"
    done
    base="${MAILSTACK_PORT_BASE:-12500}"
    if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1024 || base > 65400)); then
        die "MAILSTACK_PORT_BASE must be a number in 1024..65400: $base"
    fi
    quota="${MAILSTACK_QUOTA:-50M}"
    [[ "$quota" =~ ^[0-9]+[kKMGT]?$ ]] || die "MAILSTACK_QUOTA must look like 50M: $quota"
    if [[ -e "$dir" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
        die "$dir exists and is not empty (start wants a fresh folder)"
    fi
    for p in 25 65 43 93; do
        if port_open $((base + p)); then
            echo "mailstack: error: port $((base + p)) on 127.0.0.1 is busy" >&2
            exit 3
        fi
    done
    if ! getent passwd "$VMAIL_USER" >/dev/null; then
        take_lock
        ensure_vmail_user
        release_lock
    fi
    mkdir -p "$dir"
    chmod 0755 "$dir"
    # vmail and postfix must be able to reach DIR: check the parents.
    p="$dir"
    while [[ "$p" != / ]]; do
        p="$(dirname "$p")"
        if [[ -z "$(find "$p" -maxdepth 0 -perm -o+x 2>/dev/null)" ]]; then
            die "$p is not traversable by other users; choose DIR elsewhere"
        fi
    done
    for u in "${USERS[@]}"; do
        PASSWORDS[$(key_of "$u")]="$(openssl rand -hex 12)"
    done
    make_certs "$dir"
    write_postfix_config "$dir" "$base"
    write_dovecot_config "$dir" "$base" "$quota"
    write_oauth_config "$dir"
    write_env "$dir" "$base"
    touch "$dir/postfix.log" "$dir/dovecot.log" "$dir/dovecot-auth.log"
    if [[ -n "$owner" ]]; then
        pid_alive "$owner" || die "--owner-pid $owner is not running"
        start_watchdog "$dir" "$owner" "$remove"
    fi
    # Dovecot first: Postfix needs its auth and LMTP sockets.
    if ! (cmd_start_auth "$dir" && cmd_start_dovecot "$dir" && cmd_start_postfix "$dir"); then
        cmd_stop "$dir" || true
        exit 1
    fi
    echo "$dir/env"
}

cmd_stop() {
    local dir wd
    dir="$(abs_dir "${1:-}")"
    [[ -d "$dir" ]] || return 0
    cmd_stop_postfix "$dir"
    cmd_stop_dovecot "$dir"
    cmd_stop_auth "$dir"
    if [[ -z "${MAILSTACK_FROM_WATCHDOG:-}" ]]; then
        wd="$(read_pid "$dir/watchdog.pid")"
        if pid_alive "$wd"; then
            kill -TERM "$wd" 2>/dev/null || true
        fi
    fi
    return 0
}

cmd_status() {
    local dir ok=0
    dir="$(abs_dir "${1:-}")"
    if postfix_ready "$dir"; then echo "postfix: up"; else echo "postfix: down"; ok=1; fi
    if dovecot_imap_ready "$dir"; then echo "dovecot: up"; else echo "dovecot: down"; ok=1; fi
    if dovecot_auth_ready "$dir"; then echo "dovecot-auth: up"; else echo "dovecot-auth: down"; ok=1; fi
    return $ok
}

# A temporary refusal at RCPT time, for the retry tests; Postfix re-reads
# the map on reload.
cmd_defer_recipient() {
    local dir="$1" address="$2"
    [[ -n "$address" ]] || die "defer-recipient needs an address"
    echo "$address 451 4.3.2 Mailbox busy, try again later" >>"$dir/postfix/deferred_recipients"
    postfix -c "$dir/postfix" reload >>"$dir/postfix-reload.out" 2>&1
}

cmd_accept_recipient() {
    local dir="$1" address="$2" map
    map="$dir/postfix/deferred_recipients"
    [[ -n "$address" ]] || die "accept-recipient needs an address"
    grep -v -F "$address " "$map" >"$map.new" || true
    mv "$map.new" "$map"
    chmod 0644 "$map"
    postfix -c "$dir/postfix" reload >>"$dir/postfix-reload.out" 2>&1
}

cmd_set_uid_validity() {
    local dir="$1" address="$2" value="$3"
    [[ -n "$address" && "$value" =~ ^[0-9]+$ ]] || die "set-uid-validity needs an address and a number"
    doveadm -c "$dir/dovecot/dovecot.conf" mailbox update -u "$address" --uid-validity "$value" INBOX
}

main() {
    local cmd="${1:-}"
    [[ -n "$cmd" ]] || usage
    shift
    case "$cmd" in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    start-postfix) cmd_start_postfix "$(abs_dir "${1:-}")" ;;
    stop-postfix) cmd_stop_postfix "$(abs_dir "${1:-}")" ;;
    restart-postfix)
        cmd_stop_postfix "$(abs_dir "${1:-}")"
        cmd_start_postfix "$(abs_dir "${1:-}")"
        ;;
    start-dovecot) cmd_start_dovecot "$(abs_dir "${1:-}")" ;;
    stop-dovecot) cmd_stop_dovecot "$(abs_dir "${1:-}")" ;;
    restart-dovecot)
        cmd_stop_dovecot "$(abs_dir "${1:-}")"
        cmd_start_dovecot "$(abs_dir "${1:-}")"
        ;;
    start-auth) cmd_start_auth "$(abs_dir "${1:-}")" ;;
    stop-auth) cmd_stop_auth "$(abs_dir "${1:-}")" ;;
    flush) postfix -c "$(abs_dir "${1:-}")/postfix" flush ;;
    defer-recipient) cmd_defer_recipient "$(abs_dir "${1:-}")" "${2:-}" ;;
    accept-recipient) cmd_accept_recipient "$(abs_dir "${1:-}")" "${2:-}" ;;
    set-uid-validity) cmd_set_uid_validity "$(abs_dir "${1:-}")" "${2:-}" "${3:-}" ;;
    -h | --help | help) usage ;;
    *) die "unknown command: $cmd" ;;
    esac
}

main "$@"
