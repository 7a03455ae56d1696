//! The SASL mechanisms that log in to a mail server with an OAuth2
//! access token, and the server's answer when it refuses one.
//!
//! - XOAUTH2 (Google's, also Microsoft's): `user=U^Aauth=Bearer T^A^A`.
//! - OAUTHBEARER (RFC 7628): `n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A`.
//!
//! A server that refuses the token sends one more challenge, a JSON
//! object such as `{"status":"401","schemes":"bearer","scope":"..."}`
//! (base64 on the wire); the client answers it (an empty line for
//! XOAUTH2, `^A` for OAUTHBEARER) and the server then says no.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    #[default]
    Xoauth2,
    Oauthbearer,
}

impl Mechanism {
    pub fn is_default(&self) -> bool {
        *self == Mechanism::default()
    }

    /// Its SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Xoauth2 => "XOAUTH2",
            Mechanism::Oauthbearer => "OAUTHBEARER",
        }
    }

    /// The client's first message (before base64).
    pub fn initial_response(self, user: &str, host: &str, port: u16, token: &str) -> Vec<u8> {
        match self {
            Mechanism::Xoauth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes(),
            Mechanism::Oauthbearer => {
                // RFC 7628 3.1: the authzid is a GS2 name: ',' and '='
                // are escaped as =2C and =3D.
                let user = user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
                    .into_bytes()
            }
        }
    }

    /// What the client answers to the server's error challenge.
    pub fn error_acknowledgement(self) -> &'static [u8] {
        match self {
            Mechanism::Xoauth2 => b"",
            Mechanism::Oauthbearer => b"\x01",
        }
    }
}

/// The server's error challenge, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP-like status: 401 (the token is invalid or expired), 400, 403.
    pub status: Option<String>,
    pub scope: Option<String>,
}

impl Refusal {
    /// Reads a challenge (already base64-decoded); `None` when it is not
    /// the JSON a refusal is.
    pub fn parse(challenge: &[u8]) -> Option<Refusal> {
        #[derive(Deserialize)]
        struct Wire {
            status: Option<serde_json::Value>,
            scope: Option<String>,
        }
        let wire: Wire = serde_json::from_slice(challenge).ok()?;
        let status = wire.status.map(|s| match s {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        Some(Refusal { status, scope: wire.scope })
    }

    /// The token was refused as invalid or expired: a refresh may help.
    pub fn token_rejected(&self) -> bool {
        matches!(self.status.as_deref(), Some("401" | "invalid_token") | None)
    }

    pub fn describe(&self) -> String {
        let status = self.status.as_deref().unwrap_or("no status");
        let what = match status {
            "401" | "invalid_token" => "the access token is invalid or has expired",
            "400" | "invalid_request" => "the server did not understand the login",
            "403" | "insufficient_scope" => "the sign-in does not allow mail access (scope)",
            _ => "the server refused the token",
        };
        match &self.scope {
            Some(scope) => format!("{what} (status {status}, scope {scope})"),
            None => format!("{what} (status {status})"),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_is_googles_format() {
        let raw = Mechanism::Xoauth2.initial_response(
            "someuser@example.com",
            "imap.gmail.com",
            993,
            "ya29.vF9dft4",
        );
        assert_eq!(raw, b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4\x01\x01");
    }

    #[test]
    fn oauthbearer_is_rfc_7628s_format() {
        // RFC 7628 4.1, with the user of its example.
        let raw = Mechanism::Oauthbearer.initial_response(
            "user@example.com",
            "server.example.com",
            143,
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        );
        assert_eq!(
            raw,
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        let escaped = Mechanism::Oauthbearer.initial_response("a,b=c", "h", 1, "t");
        assert!(escaped.starts_with(b"n,a=a=2Cb=3Dc,\x01"));
        assert_eq!(Mechanism::Oauthbearer.error_acknowledgement(), b"\x01");
        assert_eq!(Mechanism::Xoauth2.error_acknowledgement(), b"");
    }

    #[test]
    fn the_error_challenge_is_read() {
        let refusal =
            Refusal::parse(br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#)
                .unwrap();
        assert!(refusal.token_rejected());
        assert!(refusal.describe().contains("invalid or has expired"), "{refusal}");
        assert!(refusal.describe().contains("https://mail.google.com/"));
        let dovecot = Refusal::parse(br#"{"status":"invalid_token","schemes":"bearer"}"#).unwrap();
        assert!(dovecot.token_rejected());
        let scope = Refusal::parse(br#"{"status":403}"#).unwrap();
        assert_eq!(scope.status.as_deref(), Some("403"));
        assert!(!scope.token_rejected());
        assert!(scope.describe().contains("scope"));
        assert_eq!(Refusal::parse(b"not json"), None);
    }

    #[test]
    fn mechanisms_are_named_in_toml_as_in_sasl() {
        assert_eq!(Mechanism::Oauthbearer.name(), "OAUTHBEARER");
        let m: Mechanism = serde_json::from_str("\"oauthbearer\"").unwrap();
        assert_eq!(m, Mechanism::Oauthbearer);
    }
}
