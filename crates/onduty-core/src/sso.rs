//! Single sign-on: who a person an OpenID provider vouches for is in onduty. Decided
//! purely from what the provider said (an [`Identity`]), the account with that e-mail
//! address if there is one, and the installation's [`SsoPolicy`]; the web layer does the
//! OpenID Connect exchange and the application layer carries the decision out.

use crate::account::{AccountStatus, Email, Name, Role, User};

/// What a verified ID token (or the provider's userinfo) says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub email: Email,
    /// Whether the provider checked that the address is theirs (`email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
    /// The `groups` claim; `None` when the provider sent none (a scope not granted,
    /// say), which is not the same as being in no group.
    pub groups: Option<Vec<String>>,
}

/// How sign-ins are matched and who may come in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoPolicy {
    /// People the provider vouches for who have no account get one.
    pub create_users: bool,
    /// The role of an account made at sign-in when no group gives one.
    pub default_role: Role,
    /// Groups (as the provider names them) and the role each gives. Someone in several
    /// gets the strongest; with a mapping, a person's role follows their groups at each
    /// sign-in: in none of them, the default role.
    pub group_roles: Vec<(String, Role)>,
}

/// What to do with a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoDecision {
    /// Sign in as this account, giving it `role` first when its groups say another.
    LogIn {
        user: User,
        role: Option<Role>,
    },
    /// Make an account and sign in as it.
    Create {
        email: Email,
        name: Name,
        role: Role,
    },
    Refuse(SsoRefusal),
}

/// Why a sign-in is refused; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoRefusal {
    #[error(
        "your identity provider has not verified {0}; onduty matches people by verified e-mail address"
    )]
    EmailNotVerified(Email),
    #[error("there is no onduty account for {0}; ask an administrator to add you")]
    NoAccount(Email),
    #[error("the onduty account {0} is disabled")]
    Disabled(Email),
}

/// The strongest role `groups` give under `mapping`, if any does.
pub fn role_from_groups(groups: &[String], mapping: &[(String, Role)]) -> Option<Role> {
    mapping
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g == group))
        .map(|(_, role)| *role)
        .max_by_key(|role| strength(*role))
}

fn strength(role: Role) -> u8 {
    match role {
        Role::Observer => 0,
        Role::Responder => 1,
        Role::Admin => 2,
    }
}

/// Decides a sign-in: `found` is the account with the identity's e-mail address, if any.
pub fn decide(identity: &Identity, found: Option<&User>, policy: &SsoPolicy) -> SsoDecision {
    if !identity.email_verified {
        return SsoDecision::Refuse(SsoRefusal::EmailNotVerified(identity.email.clone()));
    }
    let groups = identity.groups.as_deref().unwrap_or_default();
    let from_groups = role_from_groups(groups, &policy.group_roles);
    // With a mapping and the claim sent, the groups decide (leaving a group takes its
    // role away); without the claim, a person keeps the role they have.
    let follows_groups = !policy.group_roles.is_empty() && identity.groups.is_some();
    let target = if follows_groups {
        Some(from_groups.unwrap_or(policy.default_role))
    } else {
        None
    };
    match found {
        Some(user) if user.status != AccountStatus::Active => {
            SsoDecision::Refuse(SsoRefusal::Disabled(identity.email.clone()))
        }
        Some(user) => SsoDecision::LogIn {
            user: user.clone(),
            role: target.filter(|role| *role != user.role),
        },
        None if policy.create_users => SsoDecision::Create {
            email: identity.email.clone(),
            name: identity
                .name
                .as_deref()
                .and_then(|n| Name::parse(n).ok())
                .or_else(|| Name::parse(local_part(&identity.email)).ok())
                .unwrap_or_else(|| Name::parse("New person").expect("a valid name")),
            role: from_groups.unwrap_or(policy.default_role),
        },
        None => SsoDecision::Refuse(SsoRefusal::NoAccount(identity.email.clone())),
    }
}

fn local_part(email: &Email) -> &str {
    email.as_str().split('@').next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
