//! Claim tokens: 16 bytes from the operating system's random number generator, as hex. A claim
//! token is the only proof an agent owns a feature, so there is no weaker fallback: if the OS
//! cannot give randomness, the claim fails.

/// A fresh, unguessable token of 32 hex digits.
pub(crate) fn fresh() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| {
        std::io::Error::other(format!("the operating system gave no randomness: {err}"))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_hex_and_differ() {
        let a = super::fresh().expect("token");
        let b = super::fresh().expect("token");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
