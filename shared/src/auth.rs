//! Who is calling the API. In the cloud the HTTP API's JWT authorizer validates the bearer
//! token and hands its claims to the function; [`Principal::from_claims`] reads them. On
//! one machine the local gateway plays the authorizer with HS256 development tokens
//! ([`DevTokens`]): same claims, same checks (signature, issuer, audience, expiry).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_domain::staff::Role;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;

/// The authenticated caller: an employee and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub employee_id: String,
    pub role: Role,
}

/// Why a caller is not authenticated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another issuer or audience")]
    WrongAudience,
    #[error("the token carries no known role")]
    NoRole,
}

impl Principal {
    /// Reads the authorizer's claims: `sub` is the employee id; the role is the `role`
    /// claim, or the first known group of `cognito:groups` (which API Gateway passes as
    /// text such as `[head]`).
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Self, AuthError> {
        let employee_id = claims
            .get("sub")
            .filter(|s| !s.trim().is_empty())
            .ok_or(AuthError::Malformed)?
            .clone();
        let role = claims
            .get("role")
            .and_then(|r| Role::from_code(r.trim()))
            .or_else(|| {
                claims.get("cognito:groups").and_then(|groups| {
                    groups
                        .split([',', ' ', '[', ']', '"'])
                        .find_map(Role::from_code)
                })
            })
            .ok_or(AuthError::NoRole)?;
        Ok(Self { employee_id, role })
    }
}

/// The claims of a development token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevClaims {
    pub sub: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Issues and verifies HS256 development tokens with one key.
pub struct DevTokens {
    key: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

impl DevTokens {
    pub fn new(
        key: impl Into<Vec<u8>>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// A token for `employee_id` with `role`, valid for `ttl_seconds` from `now`.
    pub fn issue(&self, employee_id: &str, role: Role, now: i64, ttl_seconds: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = DevClaims {
            sub: employee_id.to_owned(),
            role: role.code().to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl_seconds,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Verifies a token as the JWT authorizer would and returns its claims as the
    /// authorizer passes them on (every value as text).
    pub fn verify(&self, token: &str, now: i64) -> Result<HashMap<String, String>, AuthError> {
        let mut parts = token.trim().split('.');
        let (Some(encoded_header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(encoded_header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(AuthError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(AuthError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed)?;
        let mut mac = self.mac();
        mac.update(format!("{encoded_header}.{payload}").as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&signature)
            .map_err(|_| AuthError::BadSignature)?;
        let claims: DevClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(AuthError::Malformed)?;
        if claims.exp <= now {
            return Err(AuthError::Expired);
        }
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(AuthError::WrongAudience);
        }
        Ok(HashMap::from([
            ("sub".to_owned(), claims.sub),
            ("role".to_owned(), claims.role),
            ("iss".to_owned(), claims.iss),
            ("aud".to_owned(), claims.aud),
            ("iat".to_owned(), claims.iat.to_string()),
            ("exp".to_owned(), claims.exp.to_string()),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> DevTokens {
        DevTokens::new(b"local-key".to_vec(), "crm-local", "crm-api")
    }

    #[test]
    fn an_issued_token_verifies_and_names_the_principal() {
        let token = tokens().issue("emp-1", Role::Head, 1_000, 3_600);
        let claims = tokens().verify(&token, 1_001).unwrap();
        assert_eq!(
            Principal::from_claims(&claims),
            Ok(Principal {
                employee_id: "emp-1".into(),
                role: Role::Head
            })
        );
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let token = tokens().issue("emp-1", Role::Manager, 1_000, 60);
        assert_eq!(tokens().verify(&token, 2_000), Err(AuthError::Expired));
        let other_key = DevTokens::new(b"other".to_vec(), "crm-local", "crm-api");
        assert_eq!(
            other_key.verify(&token, 1_001),
            Err(AuthError::BadSignature)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"emp-1","role":"admin","iss":"crm-local","aud":"crm-api","iat":1000,"exp":9999}"#);
        parts[1] = &forged;
        assert_eq!(
            tokens().verify(&parts.join("."), 1_001),
            Err(AuthError::BadSignature)
        );
        let foreign = DevTokens::new(b"local-key".to_vec(), "elsewhere", "crm-api").issue(
            "e",
            Role::Head,
            1_000,
            60,
        );
        assert_eq!(
            tokens().verify(&foreign, 1_001),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(tokens().verify("garbage", 1_001), Err(AuthError::Malformed));
    }

    #[test]
    fn cognito_groups_give_the_role() {
        let claims = HashMap::from([
            ("sub".to_owned(), "abc".to_owned()),
            ("cognito:groups".to_owned(), "[manager]".to_owned()),
        ]);
        assert_eq!(Principal::from_claims(&claims).unwrap().role, Role::Manager);
        let no_role = HashMap::from([("sub".to_owned(), "abc".to_owned())]);
        assert_eq!(Principal::from_claims(&no_role), Err(AuthError::NoRole));
    }
}
