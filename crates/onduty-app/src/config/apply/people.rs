//! People (with their contact methods and rules) and teams, as writes.

use super::*;

impl Builder<'_> {
    pub(super) fn delete_user(&mut self, email: &str, acting: UserId) {
        let Some(id) = self.user_id(email) else {
            return;
        };
        if id == acting {
            self.problems.push(format!(
                "{email} is you: the document would delete the person applying it"
            ));
            return;
        }
        // Someone deleted already (still named by a rotation when exported) is gone.
        let deleted = self
            .current
            .people
            .iter()
            .any(|p| p.user.id == id && p.user.status == AccountStatus::Deleted);
        if !deleted {
            self.out.push(ConfigWrite::DeleteUser(id));
        }
    }

    pub(super) fn user(&mut self, doc: &UserDoc, acting: UserId) {
        let Some(id) = self.user_id(&doc.email) else {
            return;
        };
        let at = format!("user {}", doc.email);
        let (Some(email), Some(name), Some(time_zone)) = (
            self.ok(&at, Email::parse(&doc.email)),
            self.ok(&at, Name::parse(&doc.name)),
            self.ok(&at, TimeZoneName::parse(&doc.time_zone)),
        ) else {
            return;
        };
        let now_person = self.current.people.iter().find(|p| p.user.id == id);
        let user = User {
            id,
            email,
            name,
            role: doc.role,
            time_zone,
            created_at: now_person.map_or(self.now, |p| p.user.created_at),
            status: AccountStatus::Active,
        };
        let was_disabled = match now_person {
            None => {
                self.out.push(ConfigWrite::CreateUser(user));
                false
            }
            Some(p) => {
                let u = &p.user;
                if id == acting && user.role != u.role {
                    self.problems.push(format!(
                        "{at} is you: the document would change the role of the person \
                         applying it (another admin can)"
                    ));
                }
                if (&u.name, u.role, &u.time_zone) != (&user.name, user.role, &user.time_zone) {
                    self.out.push(ConfigWrite::UpdateUser(user));
                }
                if u.status == AccountStatus::Deleted && !doc.disabled {
                    self.problems.push(format!(
                        "{at} was deleted: a deleted person cannot be enabled again"
                    ));
                }
                u.status != AccountStatus::Active
            }
        };
        if doc.disabled != was_disabled {
            if doc.disabled && id == acting {
                self.problems.push(format!(
                    "{at} is you: the document would disable the person applying it"
                ));
            }
            self.out.push(ConfigWrite::SetDisabled {
                user: id,
                disabled: doc.disabled,
            });
        }
        let methods = self.methods(id, doc, &at);
        let mut rules = Vec::new();
        for r in &doc.notification_rules {
            let Some(method) = methods.get(&r.contact_method) else {
                self.problems
                    .push(format!("{at}: no contact method {}", r.contact_method));
                continue;
            };
            let repeat = match r.repeat_every_seconds {
                Some(s) => self.ok(&at, RepeatEvery::parse(s)),
                None => None,
            };
            rules.push(NotificationRule {
                id: self.fresh.id(RuleId::nth),
                user_id: id,
                contact_method: *method,
                delay_minutes: r.delay_minutes,
                urgency: r.urgency,
                repeat,
            });
        }
        let rules_now: Vec<_> = now_person
            .map(|p| {
                p.rules
                    .iter()
                    .map(|r| (r.contact_method, r.delay_minutes, r.urgency, r.repeat))
                    .collect()
            })
            .unwrap_or_default();
        let rules_wanted: Vec<_> = rules
            .iter()
            .map(|r| (r.contact_method, r.delay_minutes, r.urgency, r.repeat))
            .collect();
        if rules_now != rules_wanted {
            self.out.push(ConfigWrite::ReplaceRules { user: id, rules });
        }
    }

    /// Writes the person's contact methods and returns each one's id by name.
    pub(super) fn methods(
        &mut self,
        user: UserId,
        doc: &UserDoc,
        at: &str,
    ) -> HashMap<String, ContactMethodId> {
        let person = self.current.people.iter().find(|p| p.user.id == user);
        let existing: Vec<(&String, &ContactMethod)> = person
            .map(|p| p.method_names.iter().zip(&p.methods).collect())
            .unwrap_or_default();
        let mut ids = HashMap::new();
        // Methods that go go first: one made in their place may take their address.
        for (name, method) in &existing {
            let kept = doc
                .contact_methods
                .iter()
                .any(|m| m.name == **name && m.channel == method.channel);
            if !kept {
                self.out.push(ConfigWrite::DeleteContactMethod {
                    user,
                    method: method.id,
                });
            }
        }
        for m in &doc.contact_methods {
            let found = existing
                .iter()
                .find(|(name, method)| **name == m.name && method.channel == m.channel);
            let Some(text) = m.address.as_deref() else {
                match found {
                    Some((_, method)) => {
                        ids.insert(m.name.clone(), method.id);
                    }
                    None => self
                        .problems
                        .push(format!("{at}: contact method {} needs its address", m.name)),
                }
                continue;
            };
            let Some(address) = self.ok(
                &format!("{at}: {}", m.name),
                Address::parse(m.channel, text),
            ) else {
                continue;
            };
            match found {
                Some((_, method)) => {
                    ids.insert(m.name.clone(), method.id);
                    if method.address != address {
                        self.check_channel(m, at);
                        self.out.push(ConfigWrite::ChangeAddress {
                            method: method.id,
                            address,
                        });
                    }
                }
                None => {
                    self.check_channel(m, at);
                    let id = self.fresh.id(ContactMethodId::nth);
                    ids.insert(m.name.clone(), id);
                    self.out.push(ConfigWrite::CreateContactMethod {
                        method: ContactMethod {
                            id,
                            user_id: user,
                            name: m.name.clone(),
                            channel: m.channel,
                            address,
                            verified: false,
                            failing: None,
                            created_at: self.now,
                        },
                        secret: (m.channel == Channel::Webhook).then(crate::people::webhook_secret),
                    });
                }
            }
        }
        ids
    }

    /// A new address is one onduty may send to, on a channel a document can set up.
    pub(super) fn check_channel(&mut self, m: &ContactDoc, at: &str) {
        match m.channel {
            Channel::Webhook | Channel::Ntfy => {
                if let Err(e) = (self.url_ok)(m.address.as_deref().unwrap_or_default()) {
                    self.problems
                        .push(format!("{at}: contact method {}: {e}", m.name));
                }
            }
            Channel::Slack | Channel::Telegram | Channel::Mattermost | Channel::WebPush => {
                self.problems.push(format!(
                    "{at}: contact method {}: {} contact methods are made by their owner \
                     (linking the chat account, or allowing notifications in a browser), \
                     not by a document",
                    m.name,
                    m.channel.label()
                ));
            }
            Channel::Email | Channel::Sms | Channel::Voice => {}
        }
    }

    pub(super) fn team(&mut self, doc: &TeamDoc) {
        let (name, members) = (doc.name.as_str(), &doc.members);
        let Some(id) = self.ids.teams.get(name).copied() else {
            return;
        };
        let members: Vec<UserId> = members.iter().filter_map(|m| self.user_id(m)).collect();
        let existing = self.current.team_chat.get(&id).cloned().unwrap_or_default();
        match self.current.teams.iter().find(|t| t.id == id) {
            Some(t) => {
                let mut now: Vec<UserId> = t.members.clone();
                let mut wanted = members.clone();
                now.sort();
                wanted.sort();
                if now != wanted {
                    self.out.push(ConfigWrite::SetMembers { team: id, members });
                }
            }
            None => {
                let Some(name) = self.ok(&format!("team {name}"), Name::parse(name)) else {
                    return;
                };
                self.out.push(ConfigWrite::CreateTeam(Team {
                    id,
                    name,
                    members,
                    created_at: self.now,
                }));
            }
        }
        let at = format!("team {name}");
        self.chat_channels(ChatScope::Team(id), &existing, &doc.chat_channels, &at);
    }

    pub(super) fn team_id(&mut self, name: Option<&String>) -> Option<TeamId> {
        let name = name?;
        let id = self.ids.teams.get(name).copied();
        if id.is_none() {
            self.problems.push(format!("no team {name}"));
        }
        id
    }
}
