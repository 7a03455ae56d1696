//! OAuth2 for the tests, on the real mail stack: the authorization server
//! (`tests/mailstack/authserver.py`, Authlib and Flask) as a process of
//! its own per test (its token lifetime is the test's choice), access
//! tokens minted directly with the stack's HS256 key (what Dovecot
//! checks), the browser a person signs in with (Debian's Chromium, driven
//! over WebDriver by `tests/mailstack/browser.py`) and the accounts that
//! use them.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use hmac::{Hmac, Mac};
use mailpay::mail::account::{Account, Auth};
use mailpay::oauth::Mechanism;
use mailpay::oauth::provider::{OAuth2Settings, ProviderKind};
use sha2::Sha256;

use super::mailstack::MailStack;

/// Debian's Python, which has python3-authlib and python3-flask.
pub const PYTHON: &str = "/usr/bin/python3";
pub const CLIENT_ID: &str = "mailpay-test";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack").join(name)
}

/// The `MAILPAY_BROWSER` command: Chromium, where a person consents.
pub fn browser_command() -> String {
    format!("{PYTHON} {}", script("browser.py").display())
}

/// Opens `url` in the browser as `MAILPAY_BROWSER` does, with
/// `envs` (`BROWSER_CONFIRM`, `BROWSER_EMAIL`, `BROWSER_LOG`).
pub fn browse(url: &str, envs: &[(&str, &str)]) -> Child {
    let mut command = Command::new(PYTHON);
    command.arg(script("browser.py")).arg(url).stdin(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

/// The authorization server, killed when dropped.
pub struct AuthServer {
    child: Child,
    pub port: u16,
    pub issuer: String,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AuthServer {
    /// Starts a server whose access tokens live `lifetime` seconds, for
    /// `users` (who may consent).
    pub fn start(stack: &MailStack, lifetime: u64, users: &[&str]) -> AuthServer {
        let mut child = Command::new(PYTHON)
            .arg(script("authserver.py"))
            .arg("--key-file")
            .arg(stack.oauth_key_file())
            .args(["--issuer", stack.oauth_issuer(), "--lifetime", &lifetime.to_string()])
            .args(["--client-id", CLIENT_ID, "--users", &users.join(",")])
            .args(["--owner-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{PYTHON} (python3-authlib, python3-flask) runs: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the authorization server did not start: {line:?}"));
        AuthServer { child, port, issuer: stack.oauth_issuer().to_string() }
    }

    pub fn auth_url(&self) -> String {
        format!("http://127.0.0.1:{}/authorize", self.port)
    }

    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The account settings that name this server.
    pub fn settings(&self, mechanism: Mechanism) -> OAuth2Settings {
        let mut settings = OAuth2Settings::of(ProviderKind::Custom);
        settings.mechanism = mechanism;
        settings.issuer = Some(self.issuer.clone());
        settings.auth_url = Some(self.auth_url());
        settings.token_url = Some(self.token_url());
        settings.client_id = Some(CLIENT_ID.into());
        settings
    }

    /// The `--oauth...` arguments of `mailpay account add` for this server.
    pub fn add_args(&self, mechanism: Mechanism) -> Vec<String> {
        let mut args = vec![
            "--oauth".to_string(),
            "--oauth-auth-url".into(),
            self.auth_url(),
            "--oauth-token-url".into(),
            self.token_url(),
            "--oauth-issuer".into(),
            self.issuer.clone(),
            "--oauth-client-id".into(),
            CLIENT_ID.into(),
        ];
        if mechanism == Mechanism::Oauthbearer {
            args.extend(["--oauth-mechanism".to_string(), "oauthbearer".into()]);
        }
        args
    }

    /// Revokes every grant of `email`, as its owner does in the provider's
    /// account settings.
    pub fn revoke_user(&self, email: &str) {
        let answer = self.request("POST", &format!("/admin/revoke?email={}", email.replace('@', "%40")));
        assert!(answer.contains("revoked"), "{answer}");
    }

    /// How many codes were exchanged and refreshes granted or refused.
    pub fn stats(&self) -> serde_json::Value {
        let answer = self.request("GET", "/admin/stats");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }

    fn request(&self, method: &str, target: &str) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "{method} {target} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }
}

/// An access token for `email` signed with the stack's key, expiring in
/// `lifetime` seconds (negative: expired).
pub fn mint(stack: &MailStack, email: &str, lifetime: i64) -> String {
    let key = std::fs::read_to_string(stack.oauth_key_file()).unwrap();
    let key = base64::engine::general_purpose::STANDARD.decode(key.trim()).unwrap();
    mint_with(&key, stack.oauth_issuer(), email, lifetime)
}

/// [`mint`] with any key and issuer (a forger's).
pub fn mint_with(key: &[u8], issuer: &str, email: &str, lifetime: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        serde_json::json!({"iss": issuer, "sub": email, "email": email, "iat": now, "exp": now + lifetime});
    let claims = b64.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{header}.{claims}").as_bytes());
    let signature = b64.encode(mac.finalize().into_bytes());
    format!("{header}.{claims}.{signature}")
}

/// `address`'s account on the stack (submission with STARTTLS, IMAP over
/// TLS), logging in with OAuth2 from `settings`.
pub fn account(stack: &MailStack, address: &str, settings: OAuth2Settings) -> Account {
    let mut account = super::accounts::account(stack, address);
    account.auth = Auth::OAuth2;
    account.oauth2 = Some(Box::new(settings));
    account
}

/// The `[account]` of an agent's TOML for `address` logging in with
/// OAuth2 at `server` (the grant from the keyring or `--token-file`).
pub fn agent_account_toml(stack: &MailStack, address: &str, server: &AuthServer) -> String {
    format!(
        "{}auth = \"oauth2\"\noauth2 = {{ provider = \"custom\", issuer = \"{}\", auth_url = \"{}\", \
         token_url = \"{}\", client_id = \"{CLIENT_ID}\" }}\n",
        super::processes::account_toml(stack, address),
        server.issuer,
        server.auth_url(),
        server.token_url(),
    )
}

/// An owner-only token file for an agent's `--token-file`.
pub fn token_file(dir: &Path, address: &str, contents: &str) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{address}.token"));
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).unwrap();
    writeln!(file, "{contents}").unwrap();
    path
}
