use super::*;
use crate::account::TimeZoneName;
use crate::time::Timestamp;

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

fn person(role: Role, status: AccountStatus) -> User {
    User {
        id: crate::UserId::nth(Timestamp::from_millis(0), 1),
        email: email("ann@example.com"),
        name: Name::parse("Ann").unwrap(),
        role,
        time_zone: TimeZoneName::utc(),
        created_at: Timestamp::from_millis(0),
        status,
    }
}

fn identity(verified: bool, groups: &[&str]) -> Identity {
    Identity {
        email: email("ann@example.com"),
        email_verified: verified,
        name: Some("Ann Example".to_owned()),
        groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
    }
}

fn policy(create_users: bool) -> SsoPolicy {
    SsoPolicy {
        create_users,
        default_role: Role::Observer,
        group_roles: vec![
            ("oncall-admins".to_owned(), Role::Admin),
            ("responders".to_owned(), Role::Responder),
            ("viewers".to_owned(), Role::Observer),
        ],
    }
}

#[test]
fn the_strongest_role_any_group_gives() {
    let mapping = policy(false).group_roles;
    for (groups, role) in [
        (vec![], None),
        (vec!["everyone"], None),
        (vec!["viewers"], Some(Role::Observer)),
        (vec!["viewers", "responders"], Some(Role::Responder)),
        (vec!["oncall-admins", "viewers"], Some(Role::Admin)),
        // Names are matched exactly.
        (vec!["Responders"], None),
    ] {
        let groups: Vec<String> = groups.into_iter().map(str::to_owned).collect();
        assert_eq!(role_from_groups(&groups, &mapping), role, "{groups:?}");
    }
}

#[test]
fn sign_ins_are_decided_by_verified_address_account_and_policy() {
    let active = person(Role::Responder, AccountStatus::Active);
    let disabled = person(Role::Responder, AccountStatus::Disabled);
    let deleted = person(Role::Responder, AccountStatus::Deleted);
    let refused_unverified =
        SsoDecision::Refuse(SsoRefusal::EmailNotVerified(email("ann@example.com")));
    for (who, found, create, expected) in [
        // An unverified address is never matched, whatever else holds.
        (
            identity(false, &[]),
            Some(&active),
            true,
            refused_unverified.clone(),
        ),
        (identity(false, &[]), None, true, refused_unverified),
        // An account: in, with the role its groups give; in no mapped group, the
        // default (leaving the group takes the role away).
        (
            identity(true, &["everyone"]),
            Some(&active),
            false,
            SsoDecision::LogIn {
                user: active.clone(),
                role: Some(Role::Observer),
            },
        ),
        // No groups claim at all: the role stays.
        (
            Identity {
                groups: None,
                ..identity(true, &[])
            },
            Some(&active),
            false,
            SsoDecision::LogIn {
                user: active.clone(),
                role: None,
            },
        ),
        (
            identity(true, &["responders"]),
            Some(&active),
            false,
            SsoDecision::LogIn {
                user: active.clone(),
                role: None,
            },
        ),
        (
            identity(true, &["oncall-admins"]),
            Some(&active),
            false,
            SsoDecision::LogIn {
                user: active.clone(),
                role: Some(Role::Admin),
            },
        ),
        (
            identity(true, &["viewers"]),
            Some(&active),
            false,
            SsoDecision::LogIn {
                user: active.clone(),
                role: Some(Role::Observer),
            },
        ),
        // A disabled or deleted account stays out.
        (
            identity(true, &[]),
            Some(&disabled),
            true,
            SsoDecision::Refuse(SsoRefusal::Disabled(email("ann@example.com"))),
        ),
        (
            identity(true, &[]),
            Some(&deleted),
            true,
            SsoDecision::Refuse(SsoRefusal::Disabled(email("ann@example.com"))),
        ),
        // No account: made when the policy says so, with the groups' role or the default.
        (
            identity(true, &[]),
            None,
            false,
            SsoDecision::Refuse(SsoRefusal::NoAccount(email("ann@example.com"))),
        ),
        (
            identity(true, &["everyone"]),
            None,
            true,
            SsoDecision::Create {
                email: email("ann@example.com"),
                name: Name::parse("Ann Example").unwrap(),
                role: Role::Observer,
            },
        ),
        (
            identity(true, &["responders"]),
            None,
            true,
            SsoDecision::Create {
                email: email("ann@example.com"),
                name: Name::parse("Ann Example").unwrap(),
                role: Role::Responder,
            },
        ),
    ] {
        assert_eq!(
            decide(&who, found, &policy(create)),
            expected,
            "{who:?} {found:?} create={create}"
        );
    }
}

#[test]
fn a_made_account_is_named_from_the_address_when_the_provider_gives_no_usable_name() {
    for name in [None, Some(""), Some("\u{7}bell")] {
        let who = Identity {
            name: name.map(str::to_owned),
            ..identity(true, &[])
        };
        let SsoDecision::Create { name, .. } = decide(&who, None, &policy(true)) else {
            panic!("an account is made");
        };
        assert_eq!(name.as_str(), "ann");
    }
}
