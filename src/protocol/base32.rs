//! Crockford base32: the alphabet people read and type without confusing
//! look-alike characters (no I, L, O, U). Decoding ignores case, hyphens and
//! spaces, and reads `I`/`L` as `1` and `O` as `0`, as Crockford specifies.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes `bytes` as Crockford base32 without padding (5 bits a character).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol((buffer >> bits) & 31));
        }
    }
    if bits > 0 {
        out.push(symbol((buffer << (5 - bits)) & 31));
    }
    out
}

fn symbol(index: u32) -> char {
    // `index` is masked to 0..32 by every caller.
    char::from(ALPHABET[(index & 31) as usize])
}

/// The value of one Crockford symbol, with the look-alike substitutions.
pub fn value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET.iter().position(|&s| char::from(s) == c).and_then(|p| u8::try_from(p).ok())
}

/// Normalises typed text to canonical symbols: uppercase, look-alikes
/// replaced, hyphens and white space removed. Returns the first character
/// that is not a Crockford symbol as the error.
pub fn normalize(text: &str) -> Result<String, char> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        match value(c) {
            Some(v) => out.push(symbol(u32::from(v))),
            None => return Err(c),
        }
    }
    Ok(out)
}

/// Splits canonical symbols into hyphen-separated groups of `size`.
pub fn group(symbols: &str, size: usize) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / size.max(1));
    for (i, c) in symbols.chars().enumerate() {
        if i > 0 && i % size.max(1) == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_vectors() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0xff]), "ZW");
        assert_eq!(encode(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(encode(b"f"), "CR");
        assert_eq!(encode(b"foobar"), "CSQPYRK1E8");
    }

    #[test]
    fn normalizes_case_separators_and_look_alikes() {
        assert_eq!(normalize("abcd-efgh ijkl mnop"), Ok("ABCDEFGH1JK1MN0P".to_string()));
        assert_eq!(normalize("o0"), Ok("00".to_string()));
        assert_eq!(normalize("AB!C"), Err('!'));
        assert_eq!(normalize("u"), Err('u'));
    }

    #[test]
    fn groups_symbols() {
        assert_eq!(group("ABCDEFGHJ", 4), "ABCD-EFGH-J");
        assert_eq!(group("", 4), "");
    }
}
