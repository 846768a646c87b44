//! Single sign-on with OpenID Connect: the authorization code flow with PKCE, through the
//! `openidconnect` crate over onduty's own HTTP client. `begin` makes the provider's
//! authorization URL and what must come back with the person; `finish` exchanges the code
//! and verifies the ID token (issuer, audience, signature, expiry, nonce), giving the
//! [`Identity`] the provider vouches for. Whom that signs in is decided by
//! `onduty_core::sso` and carried out by `onduty_app`.
//!
//! The provider is the operator's (`[oidc] issuer`), so requests to it are not held to
//! the outbound address policy for user-given addresses; they follow no redirects, wait
//! at most 10 seconds and read at most 1 MB.

use std::time::Duration;

use onduty_core::Timestamp;
use onduty_core::account::Email;
use onduty_core::sso::{Identity, SsoPolicy};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

use crate::Secret;

/// How long a request to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider.
const MOST_BYTES: usize = 1024 * 1024;

/// `[oidc]`: the provider, onduty's client there, and who comes in.
#[derive(Clone)]
pub struct SsoSettings {
    /// The issuer, exactly as the provider names itself (`https://id.example.com/realms/x`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    pub policy: SsoPolicy,
    /// Whether people may still log in with a password.
    pub local_passwords: bool,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("policy", &self.policy)
            .field("local_passwords", &self.local_passwords)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in through the provider did not give an identity. Each says what happened
/// in words an administrator can act on.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error(
        "the identity provider calls itself {found}, not {expected} as configured; check [oidc] issuer"
    )]
    WrongIssuer { expected: String, found: String },
    #[error("the identity provider's ID token has expired; try again, and check the clocks")]
    Expired,
    #[error(
        "the ID token's signature does not match the identity provider's keys; nobody was signed in"
    )]
    BadSignature,
    #[error("the identity provider's ID token was refused: {0}")]
    Refused(String),
    #[error("the identity provider refused the sign-in: {0}")]
    Denied(String),
    #[error("the identity provider gave no e-mail address; ask for the email scope")]
    NoEmail,
}

/// What must come back with the person from the provider, kept in a cookie until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The page to go to once signed in.
    pub next: String,
}

/// The additional claim onduty reads: the groups a person is in, as a list or one name;
/// `None` when the claim is not there.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Groups {
    #[serde(default, deserialize_with = "one_or_many")]
    groups: Option<Vec<String>>,
}

impl AdditionalClaims for Groups {}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(g)) => Some(vec![g]),
        Some(OneOrMany::Many(gs)) => Some(gs),
    })
}

/// The HTTP client the provider is reached with.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .expect("an HTTP client builds")
}

/// One request to the provider, for `openidconnect`.
async fn call(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, SsoHttpError> {
    let (parts, body) = request.into_parts();
    let mut response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| SsoHttpError(e.without_url().to_string()))?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let mut read = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SsoHttpError(e.without_url().to_string()))?
    {
        if read.len() + chunk.len() > MOST_BYTES {
            return Err(SsoHttpError("the answer is over 1 MB".to_owned()));
        }
        read.extend_from_slice(&chunk);
    }
    answer.body(read).map_err(|e| SsoHttpError(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SsoHttpError(String);

/// The provider's discovery document, checked to be the configured issuer's.
async fn discover(
    settings: &SsoSettings,
    http: &reqwest::Client,
) -> Result<CoreProviderMetadata, SsoError> {
    let issuer =
        IssuerUrl::new(settings.issuer.clone()).map_err(|e| SsoError::Provider(e.to_string()))?;
    let client = |request| call(http.clone(), request);
    CoreProviderMetadata::discover_async(issuer, &client)
        .await
        .map_err(|e| match e {
            DiscoveryError::Validation(why) if why.contains("issuer") => SsoError::WrongIssuer {
                expected: settings.issuer.clone(),
                // "unexpected issuer URI `<found>` (expected `<configured>`)"
                found: why.split('`').nth(1).unwrap_or(&why).to_owned(),
            },
            other => SsoError::Provider(describe(&other)),
        })
}

/// An error with its causes, on one line.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// onduty's client at the provider, coming back to `redirect`.
fn client(
    settings: &SsoSettings,
    metadata: CoreProviderMetadata,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    SsoError,
> {
    let redirect =
        RedirectUrl::new(redirect.to_owned()).map_err(|e| SsoError::Provider(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(
            settings.client_secret.expose().to_owned(),
        )),
    )
    .set_redirect_uri(redirect))
}

/// Where to send the person: the provider's authorization URL, and what must come back.
pub async fn begin(
    settings: &SsoSettings,
    http: &reqwest::Client,
    redirect: &str,
    next: &str,
) -> Result<(String, Pending), SsoError> {
    let client = client(settings, discover(settings, http).await?, redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    Ok((
        url.to_string(),
        Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next: next.to_owned(),
        },
    ))
}

/// Exchanges the code the person came back with and verifies the ID token, at `now`.
pub async fn finish(
    settings: &SsoSettings,
    http: &reqwest::Client,
    redirect: &str,
    pending: &Pending,
    code: &str,
    now: Timestamp,
) -> Result<Identity, SsoError> {
    let client = client(settings, discover(settings, http).await?, redirect)?;
    let caller = |request| call(http.clone(), request);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| SsoError::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&caller)
        .await
        .map_err(|e| match &e {
            openidconnect::RequestTokenError::ServerResponse(answer) => {
                SsoError::Denied(answer.to_string())
            }
            other => SsoError::Provider(describe(other)),
        })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| SsoError::Refused("the answer has no ID token".to_owned()))?;
    let at = chrono::DateTime::from_timestamp_millis(now.as_millis()).unwrap_or_default();
    let verifier = client.id_token_verifier().set_time_fn(move || at);
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = id_token.claims(&verifier, &nonce).map_err(|e| match e {
        ClaimsVerificationError::Expired(_) => SsoError::Expired,
        ClaimsVerificationError::SignatureVerification(_) => SsoError::BadSignature,
        ClaimsVerificationError::InvalidIssuer(why) => SsoError::WrongIssuer {
            expected: settings.issuer.clone(),
            found: why.split('`').nth(1).unwrap_or(&why).to_owned(),
        },
        other => SsoError::Refused(other.to_string()),
    })?;
    // The same token, verified above: its groups claim, which the core claims type skips.
    let groups = verified_groups(&id_token.to_string());
    let mut identity = claims.email().map(|email| Identity {
        email: Email::parse(email.as_str()).unwrap_or_else(|_| no_address()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        groups: groups.clone(),
    });
    let wants_groups = !settings.policy.group_roles.is_empty();
    if identity.is_none() || (wants_groups && groups.is_none()) {
        // Some providers put the e-mail address and groups only in userinfo.
        let asked = client.user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        );
        let found: Option<UserInfoClaims<Groups, CoreGenderClaim>> = match asked {
            Ok(request) => match request.request_async(&caller).await {
                Ok(found) => Some(found),
                Err(e) => {
                    tracing::warn!(error = %describe(&e), "the identity provider's userinfo was not read");
                    None
                }
            },
            // The provider has no userinfo endpoint.
            Err(_) => None,
        };
        if let Some(found) = found {
            let email = found.email().map(|e| e.as_str().to_owned());
            match (&mut identity, email) {
                (Some(known), _) => {
                    if known.groups.is_none() {
                        known.groups = found.additional_claims().groups.clone();
                    }
                }
                (None, Some(email)) => {
                    identity = Some(Identity {
                        email: Email::parse(&email).unwrap_or_else(|_| no_address()),
                        email_verified: found.email_verified().unwrap_or(false),
                        name: found
                            .name()
                            .and_then(|n| n.get(None))
                            .map(|n| n.as_str().to_owned()),
                        groups: found.additional_claims().groups.clone(),
                    });
                }
                (None, None) => {}
            }
        }
    }
    let identity = identity.ok_or(SsoError::NoEmail)?;
    if identity.email == no_address() {
        return Err(SsoError::NoEmail);
    }
    Ok(identity)
}

/// What stands for an address that does not read as one (never matched to anyone).
fn no_address() -> Email {
    Email::parse("invalid@invalid").expect("a valid address")
}

/// The `groups` claim of an ID token whose signature was already verified.
fn verified_groups(token: &str) -> Option<Vec<String>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Groups>(&bytes).ok())
        .and_then(|g| g.groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn token(claims: serde_json::Value) -> String {
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            b64(&serde_json::json!({"alg": "RS256"})),
            b64(&claims)
        )
    }

    #[test]
    fn groups_are_read_as_a_list_or_one_name() {
        let some = |gs: &[&str]| Some(gs.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>());
        for (claims, groups) in [
            (serde_json::json!({"groups": ["a", "b"]}), some(&["a", "b"])),
            (serde_json::json!({"groups": "a"}), some(&["a"])),
            (serde_json::json!({"groups": []}), some(&[])),
            (serde_json::json!({"sub": "x"}), None),
            (serde_json::json!({"groups": 7}), None),
        ] {
            assert_eq!(verified_groups(&token(claims.clone())), groups, "{claims}");
        }
        assert_eq!(verified_groups("not a token"), None);
    }

    #[test]
    fn the_client_secret_is_not_shown() {
        let settings = SsoSettings {
            issuer: "https://id.example.com".to_owned(),
            client_id: "onduty".to_owned(),
            client_secret: Secret::new("hunter2".to_owned()),
            scopes: vec![],
            policy: SsoPolicy {
                create_users: false,
                default_role: onduty_core::account::Role::Observer,
                group_roles: vec![],
            },
            local_passwords: true,
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
