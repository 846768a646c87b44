//! `[oidc]` in `onduty.toml`: single sign-on through an OpenID Connect provider.

use std::collections::BTreeMap;

use onduty_core::account::Role;
use onduty_core::sso::SsoPolicy;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OidcFile {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    create_users: bool,
    default_role: Option<String>,
    #[serde(default)]
    group_roles: BTreeMap<String, String>,
    local_passwords: Option<bool>,
}

fn role(text: &str, what: &str) -> anyhow::Result<Role> {
    match text {
        "admin" => Ok(Role::Admin),
        "responder" => Ok(Role::Responder),
        "observer" => Ok(Role::Observer),
        other => anyhow::bail!("{what} must be admin, responder or observer, not {other:?}"),
    }
}

/// The settled `[oidc]`: `None` when no issuer is set. `secret` is the client secret from
/// the environment or the command line, which wins over the file's.
pub(super) fn sso_settings(
    f: OidcFile,
    secret: Option<&str>,
) -> anyhow::Result<Option<onduty_web::SsoSettings>> {
    let Some(issuer) = f.issuer.map(|i| i.trim().to_owned()) else {
        let named = f.client_id.is_some()
            || f.client_secret.is_some()
            || f.local_passwords.is_some()
            || !f.group_roles.is_empty();
        anyhow::ensure!(
            !named,
            "[oidc] needs issuer, the identity provider's issuer URL"
        );
        return Ok(None);
    };
    let url = url::Url::parse(&issuer)
        .map_err(|e| anyhow::anyhow!("oidc.issuer {issuer:?} is not a URL: {e}"))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    anyhow::ensure!(
        url.scheme() == "https" || (url.scheme() == "http" && loopback),
        "oidc.issuer must be an https:// URL (http:// only on this machine), not {issuer:?}"
    );
    let client_id = f
        .client_id
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("[oidc] needs client_id, onduty's client at the provider")
        })?;
    let client_secret = secret
        .map(str::to_owned)
        .or(f.client_secret)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("[oidc] needs client_secret (or ONDUTY_OIDC_CLIENT_SECRET)")
        })?;
    let group_roles = f
        .group_roles
        .iter()
        .map(|(group, r)| {
            Ok((
                group.clone(),
                role(r, &format!("oidc.group_roles.{group}"))?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let default_role = role(
        f.default_role.as_deref().unwrap_or("observer"),
        "oidc.default_role",
    )?;
    let scopes = f.scopes.unwrap_or_else(|| {
        let mut scopes = vec!["email".to_owned(), "profile".to_owned()];
        if !group_roles.is_empty() {
            scopes.push("groups".to_owned());
        }
        scopes
    });
    Ok(Some(onduty_web::SsoSettings {
        issuer,
        client_id,
        client_secret: onduty_web::Secret::new(client_secret),
        scopes,
        policy: SsoPolicy {
            create_users: f.create_users,
            default_role,
            group_roles,
        },
        local_passwords: f.local_passwords.unwrap_or(true),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(text: &str) -> anyhow::Result<Option<onduty_web::SsoSettings>> {
        sso_settings(toml::from_str(text).unwrap(), None)
    }

    #[test]
    fn single_sign_on_is_off_unless_an_issuer_is_set_and_checked_when_it_is() {
        assert!(settle("").unwrap().is_none());
        let refused = |text: &str| settle(text).unwrap_err().to_string();
        assert!(refused("client_id = \"x\"\n").contains("needs issuer"));
        assert!(refused("issuer = \"http://id.example.com\"\n").contains("https://"));
        assert!(refused("issuer = \"https://id.example.com\"\n").contains("client_id"));
        assert!(
            refused("issuer = \"https://id.example.com\"\nclient_id = \"onduty\"\n")
                .contains("client_secret")
        );
        let base =
            "issuer = \"https://id.example.com\"\nclient_id = \"onduty\"\nclient_secret = \"s\"\n";
        assert!(refused(&format!("{base}default_role = \"boss\"\n")).contains("oidc.default_role"));
        assert!(
            refused(&format!("{base}[group_roles]\nops = \"root\"\n"))
                .contains("oidc.group_roles.ops")
        );
        let kept = settle(&format!(
            "{base}create_users = true\nlocal_passwords = false\n[group_roles]\nops = \"admin\"\n"
        ))
        .unwrap()
        .unwrap();
        assert!(kept.policy.create_users);
        assert!(!kept.local_passwords);
        assert_eq!(kept.policy.default_role, Role::Observer);
        assert_eq!(
            kept.policy.group_roles,
            vec![("ops".to_owned(), Role::Admin)]
        );
        assert_eq!(kept.scopes, ["email", "profile", "groups"]);
        // On this machine, plain http is taken (a provider run for tests, say).
        assert!(
            settle(
                "issuer = \"http://127.0.0.1:9000\"\nclient_id = \"o\"\nclient_secret = \"s\"\n"
            )
            .unwrap()
            .is_some()
        );
    }
}
