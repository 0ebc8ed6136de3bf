//! The few JWT facts OAUTHBEARER needs, without verifying signatures (the broker does that):
//! a token's `sub` and `exp` claims, and unsecured (`alg: none`) tokens as Kafka's
//! `OAuthBearerUnsecuredLoginCallbackHandler` makes them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The claims of a JWT that matter here.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Claims {
    /// `sub`: the principal the broker will see.
    pub(crate) subject: Option<String>,
    /// `exp`: when the token expires.
    pub(crate) expires_at: Option<SystemTime>,
}

/// Reads the claims of a compact JWS (`header.payload.signature`) without checking the
/// signature. `None` if `token` is not a JWT (an opaque bearer token).
pub(crate) fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let payload = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let payload: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let payload = payload.as_object()?;
    let subject = payload
        .get("sub")
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    let expires_at = payload
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .filter(|exp| exp.is_finite() && *exp >= 0.0)
        .map(|exp| UNIX_EPOCH + Duration::from_secs_f64(exp));
    Some(Claims {
        subject,
        expires_at,
    })
}

/// The header's `alg`, for the embedded broker's check that an unsecured token says `none`.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub(crate) fn algorithm(token: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

/// An unsigned JWT (`alg: none`, empty signature) for `subject`, issued now and valid for
/// `lifetime`: what Kafka's unsecured login handler sends and its unsecured validator accepts.
pub(crate) fn unsecured(subject: &str, lifetime: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let header = serde_json::json!({ "alg": "none" });
    let payload = serde_json::json!({
        "sub": subject,
        "iat": now.as_secs_f64(),
        "exp": (now + lifetime).as_secs_f64(),
    });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsecured_token_carries_its_subject_and_expiry_and_says_alg_none() {
        let token = unsecured("alice", Duration::from_secs(60));
        assert!(token.ends_with('.'), "{token}");
        assert_eq!(algorithm(&token).as_deref(), Some("none"));
        let claims = claims(&token).unwrap();
        assert_eq!(claims.subject.as_deref(), Some("alice"));
        let left = claims
            .expires_at
            .unwrap()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(left > Duration::from_secs(55) && left <= Duration::from_secs(60));
    }

    #[test]
    fn an_opaque_token_has_no_claims() {
        assert_eq!(claims("2YotnFZFEjr1zCsicMWpAA"), None);
        assert_eq!(claims("a.b"), None);
    }
}
