#!/usr/bin/python3
"""authserver.py - an OAuth2 authorization server for the mail stack's tests.

Authlib's Flask integration (Debian packages python3-authlib and
python3-flask) on plain HTTP at 127.0.0.1:

  GET  /authorize   the consent page: a form with the user's address, which
                    the browser POSTs back (confirm=yes, or no to decline)
  POST /authorize   the redirect to the client's redirect_uri with a code
  POST /token       authorization_code (PKCE S256 required) and refresh_token
  POST /revoke      RFC 7009 revocation of a refresh or access token
  POST /admin/revoke?email=U  revokes every grant of U (as a user does in
                    the provider's account settings)
  GET  /admin/stats  {"codes": n, "refreshes": n, "refused_refreshes": n}

Access tokens are JWTs signed with HS256 by the mail stack's key (what
Dovecot's oauth2 passdb checks locally): sub, email, iss, iat, exp, with a
lifetime of --lifetime seconds. One public client, --client-id, whose
redirect URIs are the loopback ones of RFC 8252 (http://127.0.0.1:PORT/).
Users: --users (comma-separated addresses).

Usage: authserver.py --key-file F --issuer I [--port 0] [--lifetime 3600]
       [--client-id mailpay-test] [--users a@b,c@d] [--owner-pid PID]
Prints "listening PORT" once it accepts connections.
"""
import argparse
import base64
import html
import os
import re
import secrets
import sys
import threading
import time

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback only

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.jose import jwt  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin  # noqa: E402
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

ARGS = None
KEY = b""
LOCK = threading.Lock()
CODES = {}
TOKENS = []
STATS = {"codes": 0, "refreshes": 0, "refused_refreshes": 0}
LOOPBACK_REDIRECT = re.compile(r"^http://127\.0\.0\.1:[0-9]{1,5}/$")


class User:
    def __init__(self, email):
        self.email = email

    def get_user_id(self):
        return self.email


class Client(ClientMixin):
    def __init__(self, client_id):
        self.client_id = client_id

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope or "mail"

    def check_redirect_uri(self, redirect_uri):
        return bool(LOOPBACK_REDIRECT.match(redirect_uri or ""))

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "none"

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


class Code(AuthorizationCodeMixin):
    def __init__(self, code, client_id, redirect_uri, scope, email, challenge, method):
        self.code = code
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.email = email
        self.code_challenge = challenge
        self.code_challenge_method = method
        self.issued = time.time()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


class Token(TokenMixin):
    def __init__(self, token, client_id, email):
        self.access_token = token.get("access_token")
        self.refresh_token = token.get("refresh_token")
        self.expires_in = token.get("expires_in", ARGS.lifetime)
        self.scope = token.get("scope", "mail")
        self.client_id = client_id
        self.email = email
        self.issued = time.time()
        self.revoked = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued + self.expires_in

    def is_revoked(self):
        return self.revoked


def query_client(client_id):
    return Client(client_id) if client_id == ARGS.client_id else None


def save_token(token, req):
    with LOCK:
        TOKENS.append(Token(token, req.client.get_client_id(), req.user.email))


def access_token(client, grant_type, user, scope):
    now = int(time.time())
    claims = {
        "iss": ARGS.issuer,
        "sub": user.email,
        "email": user.email,
        "iat": now,
        "exp": now + ARGS.lifetime,
        "scope": scope or "mail",
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, KEY).decode()


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code, req):
        with LOCK:
            CODES[code] = Code(
                code,
                req.client.get_client_id(),
                req.redirect_uri,
                req.scope,
                req.user.email,
                req.data.get("code_challenge"),
                req.data.get("code_challenge_method"),
            )

    def query_authorization_code(self, code, client):
        with LOCK:
            item = CODES.get(code)
        if item and item.client_id == client.get_client_id() and time.time() - item.issued < 120:
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        with LOCK:
            CODES.pop(authorization_code.code, None)
            STATS["codes"] += 1

    def authenticate_user(self, authorization_code):
        return User(authorization_code.email)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = False

    def authenticate_refresh_token(self, refresh_token):
        with LOCK:
            for token in TOKENS:
                if token.refresh_token == refresh_token:
                    if token.revoked:
                        STATS["refused_refreshes"] += 1
                        return None
                    STATS["refreshes"] += 1
                    return token
            STATS["refused_refreshes"] += 1
        return None

    def authenticate_user(self, credential):
        return User(credential.email)

    def revoke_old_credential(self, credential):
        # The refresh token stays good (as Google's do).
        pass


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]

    def query_token(self, token_string, token_type_hint):
        with LOCK:
            for token in TOKENS:
                if token_string in (token.access_token, token.refresh_token):
                    return token
        return None

    def revoke_token(self, token, req):
        revoke_email(token.email)


def revoke_email(email):
    with LOCK:
        for token in TOKENS:
            if token.email == email:
                token.revoked = True


APP = Flask(__name__)
SERVER = AuthorizationServer()

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Allow {client} to read and send your mail?</h1>
<form method="post" action="/authorize?{query}">
<label>Address <input name="email" value="{email}"></label>
<button name="confirm" value="yes">Allow</button>
<button name="confirm" value="no">Deny</button>
</form></body></html>
"""


@APP.route("/authorize", methods=["GET", "POST"])
def authorize():
    if request.method == "GET":
        try:
            SERVER.get_consent_grant(end_user=None)
        except Exception as error:  # noqa: BLE001 - shown to the tester
            return "invalid authorization request: %s" % html.escape(str(error)), 400
        query = request.query_string.decode("ascii", "replace")
        email = request.args.get("login_hint", "")
        return PAGE.format(
            client=html.escape(ARGS.client_id), query=html.escape(query), email=html.escape(email)
        )
    email = request.form.get("email", "")
    user = User(email) if request.form.get("confirm") == "yes" and email in ARGS.users else None
    return SERVER.create_authorization_response(grant_user=user)


@APP.route("/token", methods=["POST"])
def token():
    return SERVER.create_token_response()


@APP.route("/revoke", methods=["POST"])
def revoke():
    return SERVER.create_endpoint_response(Revocation.ENDPOINT_NAME)


@APP.route("/admin/revoke", methods=["POST"])
def admin_revoke():
    revoke_email(request.args.get("email", ""))
    return jsonify({"revoked": request.args.get("email", "")})


@APP.route("/admin/stats")
def admin_stats():
    with LOCK:
        return jsonify(dict(STATS))


def watch_owner(pid):
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(1)


def main():
    global ARGS, KEY
    parser = argparse.ArgumentParser()
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=int, default=3600)
    parser.add_argument("--client-id", default="mailpay-test")
    parser.add_argument("--users", default="oauth@buyer.test")
    parser.add_argument("--owner-pid", type=int)
    ARGS = parser.parse_args()
    ARGS.users = [u for u in ARGS.users.split(",") if u]
    with open(ARGS.key_file, "rb") as f:
        KEY = base64.b64decode(f.read().strip())
    APP.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = access_token
    APP.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    APP.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": ARGS.lifetime,
        "refresh_token": ARGS.lifetime,
    }
    SERVER.init_app(APP, query_client=query_client, save_token=save_token)
    SERVER.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    SERVER.register_grant(RefreshTokenGrant)
    SERVER.register_endpoint(Revocation)
    if ARGS.owner_pid:
        threading.Thread(target=watch_owner, args=(ARGS.owner_pid,), daemon=True).start()
    server = make_server("127.0.0.1", ARGS.port, APP, threaded=True)
    print("listening %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
