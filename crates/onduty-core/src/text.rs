//! Text from outside made storable on every backend.

use std::borrow::Cow;

/// `text` with each NUL character replaced by U+FFFD: PostgreSQL cannot keep NUL in a
/// text column, and the rest of the text is worth keeping.
pub fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character_and_the_rest_is_kept() {
        assert_eq!(without_nul("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(without_nul("plain"), Cow::Borrowed("plain")));
    }
}
