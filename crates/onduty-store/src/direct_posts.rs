//! Pages sent as direct messages in chat (Slack, Telegram, Mattermost), kept in step with
//! their incidents. When a page is sent, each incident's message is remembered in
//! `direct_posts` with the status it shows (`paging::record_deliveries`); a message
//! showing another status than its incident's is due, and the engine's chat stage edits
//! it in place like a channel's ([`Store::due_direct_posts`], then
//! [`Store::record_chat_posts`], which writes how it went). Once it shows the incident resolved it is forgotten.

use onduty_core::{ContactMethodId, IncidentId, Timestamp};

use crate::chat::{DueChatPost, PostPlace, due_post};
use crate::sql::{Val, Write, col, parse_col, write};
use crate::{Backend, Store, StoreError};

/// A page's message in a person's direct conversation with the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedDirect {
    pub incident: IncidentId,
    /// The conversation and the message, as the platform names them.
    pub channel: String,
    pub message_ref: String,
}

/// Remembers a page's message, showing its incident triggered (a page is sent for a
/// triggered incident; if it changed meanwhile, the message is due at once).
pub(crate) fn remember(
    d: Backend,
    method: ContactMethodId,
    post: &PostedDirect,
    now: Timestamp,
) -> Write {
    write(
        d,
        "INSERT INTO direct_posts (incident_id, contact_method_id, channel, message_ref, \
         shown_status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 'triggered', 0, ?) \
         ON CONFLICT DO NOTHING",
        vec![
            Val::Text(post.incident.to_string()),
            Val::Text(method.to_string()),
            Val::Text(post.channel.clone()),
            Val::Text(post.message_ref.clone()),
            Val::Int(now.as_millis()),
        ],
    )
}

impl Store {
    /// Direct messages that show another status than their incident's and are due,
    /// oldest first.
    pub async fn due_direct_posts(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueChatPost>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.incident_id, p.contact_method_id, p.channel, p.message_ref, p.attempts, \
             i.number, i.summary, i.severity, i.urgency, i.status, s.name AS service_name, \
             m.channel AS platform, u.name AS person FROM direct_posts p \
             JOIN incidents i ON i.id = p.incident_id JOIN services s ON s.id = i.service_id \
             JOIN contact_methods m ON m.id = p.contact_method_id JOIN users u ON u.id = m.user_id \
             WHERE p.shown_status <> i.status AND p.next_attempt_at <= $1 \
             ORDER BY p.next_attempt_at, p.incident_id LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let place = PostPlace::Direct {
                    method: parse_col(row, "contact_method_id", str::parse)?,
                    person: col(row, "person")?,
                };
                due_post(row, place, Some(col(row, "message_ref")?))
            })
            .collect()
    }
}
