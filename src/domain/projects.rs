//! Project ids and colours.

/// A project id people create: 1–64 of `a-z 0-9 - _`, starting with a letter or digit.
/// (Ids that agents report are kept as sent.)
pub fn valid_slug(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The slug of a display name: lowercase, runs of other characters become one `-`.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(64).collect()
}

/// `#rrggbb`.
pub fn valid_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_colours() {
        assert_eq!(slug_of("  Billing Service (v2)! "), "billing-service-v2");
        assert_eq!(slug_of("Ünïcode"), "n-code");
        assert!(valid_slug("billing-2"));
        assert!(!valid_slug("-x"));
        assert!(!valid_slug("Billing"));
        assert!(!valid_slug(""));
        assert!(valid_color("#1a2B3c"));
        assert!(!valid_color("red"));
        assert!(!valid_color("#12345"));
    }
}
