//! Percent-encoding (RFC 3986) through the `percent-encoding` crate: path segments sent to
//! GitHub, cookie values, and reading path parameters the way the router does.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but the unreserved characters `A–Z a–z 0–9 - _ . ~` is encoded.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// Decodes `%XX` sequences; anything else (a stray `%` included) is kept as it is, and bytes
/// that are not UTF-8 become U+FFFD.
pub fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Decodes `%XX` sequences, or `None` when the result is not UTF-8 (as the router refuses it).
pub fn decode_strict(text: &str) -> Option<String> {
    percent_decode_str(text).decode_utf8().ok().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_stray_percent_signs() {
        let text = "/a b?c=d&e;f,\"ü\"";
        assert_eq!(decode(&encode(text)), text);
        assert!(encode(text).bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("a%2Fb"), "a/b");
        assert_eq!(decode_strict("%FF"), None);
        assert_eq!(decode_strict("a%20b").as_deref(), Some("a b"));
    }
}
