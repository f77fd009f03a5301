//! Random tokens and comparing them: sessions, tickets, admin tokens, login states and the
//! desktop app's single-instance handover all use these two.

/// 32 random bytes as URL-safe base64, with a prefix saying what they are.
pub fn random_token(prefix: &str) -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn same_token(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_new_each_time_and_match_only_themselves() {
        let (a, b) = (random_token("nrt-"), random_token("nrt-"));
        assert!(a.starts_with("nrt-") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert!(same_token(&a, &a));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..a.len() - 1]));
        assert!(!same_token("", "x"));
    }
}
