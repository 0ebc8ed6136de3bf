//! The embedded broker's OAUTHBEARER check, as Kafka's built-in unsecured validator does it
//! (`OAuthBearerUnsecuredValidatorCallbackHandler`): the client's RFC 7628 message carries an
//! unsigned JWT (`alg: none`) whose `sub` names the principal and whose `exp` lies ahead.

use std::time::{Duration, SystemTime};

use crate::client::jwt;

/// The server's answer to a token it refuses (RFC 7628 §3.2.2), as Kafka sends it.
pub(crate) const INVALID_TOKEN_CHALLENGE: &[u8] = br#"{"status":"invalid_token"}"#;

/// An accepted token: its principal and how long it stays valid.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) principal: String,
    pub(crate) remaining: Duration,
}

/// Checks the client's first message `n,[a=authzid],\x01auth=Bearer <token>\x01…\x01\x01`.
pub(crate) fn validate(message: &[u8]) -> Result<Accepted, String> {
    let text = std::str::from_utf8(message).map_err(|_| "the message is not UTF-8")?;
    let (gs2, rest) = text
        .split_once('\x01')
        .ok_or("no GS2 header: expected `n,,\\x01auth=Bearer …`")?;
    if !gs2.starts_with("n,") {
        return Err(format!("unsupported GS2 header `{gs2}`"));
    }
    let token = rest
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth="))
        .ok_or("no auth= key")?
        .strip_prefix("Bearer ")
        .ok_or("the auth value is not `Bearer <token>`")?
        .trim();
    match jwt::algorithm(token).as_deref() {
        Some("none") => {}
        Some(other) => return Err(format!("alg `{other}`: only unsecured (alg none) tokens")),
        None => return Err("the token is not a JWT".to_owned()),
    }
    let claims = jwt::claims(token).ok_or("the token's claims are not JSON")?;
    let principal = claims
        .subject
        .filter(|s| !s.is_empty())
        .ok_or("the token has no `sub` claim")?;
    let expires_at = claims.expires_at.ok_or("the token has no `exp` claim")?;
    let remaining = expires_at
        .duration_since(SystemTime::now())
        .map_err(|_| "the token has expired")?;
    Ok(Accepted {
        principal,
        remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::jwt::unsecured;

    fn message(token: &str) -> Vec<u8> {
        format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes()
    }

    #[test]
    fn an_unsigned_token_with_sub_and_a_future_exp_is_accepted() {
        let accepted = validate(&message(&unsecured("alice", Duration::from_secs(30)))).unwrap();
        assert_eq!(accepted.principal, "alice");
        assert!(accepted.remaining <= Duration::from_secs(30));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = unsecured("alice", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            validate(&message(&token)).unwrap_err(),
            "the token has expired"
        );
    }

    #[test]
    fn a_token_without_sub_or_a_signed_one_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let no_sub = format!(
            "{}.{}.",
            part(r#"{"alg":"none"}"#),
            part(r#"{"exp":9999999999}"#)
        );
        assert!(validate(&message(&no_sub)).unwrap_err().contains("sub"));
        let signed = format!(
            "{}.{}.sig",
            part(r#"{"alg":"RS256"}"#),
            part(r#"{"sub":"a"}"#)
        );
        assert!(validate(&message(&signed)).unwrap_err().contains("RS256"));
        assert!(validate(b"auth=Bearer x").is_err());
    }
}
