//! Chat channels and the message each incident has in each. An incident opened in a
//! channel's scope gets a row in `chat_posts`, and every change of its state counts one
//! more change there; both are written in the incident's own transaction
//! (`effects::chat_writes`). The engine's chat stage posts or updates the
//! messages that are behind ([`Store::due_chat_posts`]) and records how it went.

use onduty_core::chat::{ChatChannel, ChatPlatform, ChatScope};
use onduty_core::incident::{Actor, IncidentStatus, TimelineKind};
use onduty_core::{ChatChannelId, ContactMethodId, IncidentId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::effects::{timeline_row, timeline_writes};
use crate::sql::{Val, Write, col, execute_writes, parse_col, write};
use crate::{Backend, Store, StoreError, begin};

/// A message to post or bring up to date, with what it shows.
#[derive(Debug, Clone)]
pub struct DueChatPost {
    pub incident: IncidentId,
    pub number: i64,
    pub summary: String,
    pub severity: String,
    pub urgency: String,
    pub status: IncidentStatus,
    pub service: String,
    pub place: PostPlace,
    pub platform: ChatPlatform,
    /// The conversation as the platform names it.
    pub channel: String,
    /// The message's id on the platform, once posted (a direct message always is).
    pub message_ref: Option<String>,
    pub attempts: i64,
}

/// Where a message is, and what keeps it in step with its incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostPlace {
    /// A channel of the incident's service or team; `changes` is the incident's change
    /// the message will show once sent.
    Channel { id: ChatChannelId, changes: i64 },
    /// A page sent to a person as a direct message, through their contact method
    /// (`person` names them on the timeline). It is due while it shows another status
    /// than the incident's.
    Direct {
        method: ContactMethodId,
        person: String,
    },
}

/// How posting or updating one message went.
#[derive(Debug, Clone)]
pub enum ChatPostResult {
    Shown {
        message_ref: Option<String>,
    },
    /// Try again at this time; `counted`: as one more attempt (a rate limit is not one).
    Retry {
        error: String,
        at: Timestamp,
        counted: bool,
    },
    /// Post it again: the posted message is gone (someone deleted it).
    Repost,
    /// This change is given up (the next one tries again); the channel stays in use.
    GaveUp {
        error: String,
    },
    /// The platform refused the channel for good: the channel is marked failing and the
    /// incident's timeline says so.
    Refused {
        error: String,
    },
    /// The conversation has a new id (a Telegram group became a supergroup): every
    /// channel attached to the old one follows, and its messages are posted there anew.
    Moved {
        to: String,
    },
}

fn channel_from_row(row: &AnyRow) -> Result<ChatChannel, StoreError> {
    let service: Option<String> = col(row, "service_id")?;
    let team: Option<String> = col(row, "team_id")?;
    let scope = match (service, team) {
        (Some(s), _) => ChatScope::Service(s.parse().map_err(StoreError::corrupt)?),
        (None, Some(t)) => ChatScope::Team(t.parse().map_err(StoreError::corrupt)?),
        (None, None) => return Err(StoreError::corrupt("a chat channel of nothing")),
    };
    Ok(ChatChannel {
        id: parse_col(row, "id", str::parse)?,
        platform: parse_col(row, "platform", |t| {
            ChatPlatform::parse(t).ok_or("unknown chat platform")
        })?,
        channel: col(row, "channel")?,
        scope,
        failing: col(row, "failing")?,
    })
}

/// A due message from its row: the incident's columns (`incident_id`, `number`,
/// `summary`, `severity`, `urgency`, `status`, `service_name`), the `platform`, `channel`
/// and `attempts`, wherever it is.
pub(crate) fn due_post(
    row: &AnyRow,
    place: PostPlace,
    message_ref: Option<String>,
) -> Result<DueChatPost, StoreError> {
    Ok(DueChatPost {
        incident: parse_col(row, "incident_id", str::parse)?,
        number: col(row, "number")?,
        summary: col(row, "summary")?,
        severity: col(row, "severity")?,
        urgency: col(row, "urgency")?,
        status: parse_col(row, "status", |t| {
            IncidentStatus::parse(t).ok_or("unknown status")
        })?,
        service: col(row, "service_name")?,
        place,
        platform: parse_col(row, "platform", |t| {
            ChatPlatform::parse(t).ok_or("not a chat platform")
        })?,
        channel: col(row, "channel")?,
        message_ref,
        attempts: col(row, "attempts")?,
    })
}

/// How one channel message went, as writes: a refused channel is marked failing.
fn channel_post_writes(
    d: Backend,
    post: &DueChatPost,
    channel: ChatChannelId,
    changes: i64,
    result: &ChatPostResult,
    now: Timestamp,
) -> Vec<Write> {
    let mut writes = Vec::new();
    let key = [
        Val::Text(post.incident.to_string()),
        Val::Text(channel.to_string()),
    ];
    let (set, mut values) = match result {
        ChatPostResult::Shown { message_ref } => (
            "message_ref = COALESCE(?, message_ref), shown = ?, attempts = 0, last_error = NULL",
            vec![Val::OptText(message_ref.clone()), Val::Int(changes)],
        ),
        ChatPostResult::Retry { error, at, counted } => retry_set(error, *at, *counted),
        ChatPostResult::Repost => (
            "message_ref = NULL, next_attempt_at = ?",
            vec![Val::Int(now.as_millis())],
        ),
        ChatPostResult::GaveUp { error } => (
            "shown = ?, attempts = 0, last_error = ?",
            vec![Val::Int(changes), Val::Text(error.clone())],
        ),
        ChatPostResult::Moved { to } => {
            return moved_writes(d, post.platform, &post.channel, to, now);
        }
        ChatPostResult::Refused { error } => {
            writes.push(write(
                d,
                "UPDATE chat_channels SET failing = ? WHERE id = ?",
                vec![Val::Text(error.clone()), key[1].clone()],
            ));
            (
                "shown = ?, last_error = ?",
                vec![Val::Int(changes), Val::Text(error.clone())],
            )
        }
    };
    values.extend(key);
    writes.push(write(
        d,
        &format!("UPDATE chat_posts SET {set} WHERE incident_id = ? AND chat_channel_id = ?"),
        values,
    ));
    writes
}

/// How bringing one direct message up to date went, as writes. A message that shows its
/// incident resolved is done with, and so is one that cannot be edited any more (deleted,
/// too old, the conversation gone): a page to the person will find out if the contact
/// method itself fails.
fn direct_post_writes(
    d: Backend,
    post: &DueChatPost,
    method: ContactMethodId,
    result: &ChatPostResult,
) -> Vec<Write> {
    let key = vec![
        Val::Text(post.incident.to_string()),
        Val::Text(method.to_string()),
        Val::Text(post.message_ref.clone().unwrap_or_default()),
    ];
    let forget = || {
        write(
            d,
            "DELETE FROM direct_posts WHERE incident_id = ? AND contact_method_id = ? \
             AND message_ref = ?",
            key.clone(),
        )
    };
    let (set, mut values) = match result {
        ChatPostResult::Shown { .. } | ChatPostResult::GaveUp { .. }
            if post.status == IncidentStatus::Resolved =>
        {
            return vec![forget()];
        }
        ChatPostResult::Repost | ChatPostResult::Refused { .. } | ChatPostResult::Moved { .. } => {
            return vec![forget()];
        }
        ChatPostResult::Shown { .. } => (
            "shown_status = ?, attempts = 0, last_error = NULL",
            vec![Val::Text(post.status.as_str().to_owned())],
        ),
        ChatPostResult::GaveUp { error } => (
            "shown_status = ?, attempts = 0, last_error = ?",
            vec![
                Val::Text(post.status.as_str().to_owned()),
                Val::Text(error.clone()),
            ],
        ),
        ChatPostResult::Retry { error, at, counted } => retry_set(error, *at, *counted),
    };
    values.extend(key);
    vec![write(
        d,
        &format!(
            "UPDATE direct_posts SET {set} WHERE incident_id = ? AND contact_method_id = ? \
             AND message_ref = ?"
        ),
        values,
    )]
}

/// Every channel attached to conversation `from` follows it to its new id `to`; their
/// messages are posted there anew (now for those behind, at the next change for others).
fn moved_writes(
    d: Backend,
    platform: ChatPlatform,
    from: &str,
    to: &str,
    now: Timestamp,
) -> Vec<Write> {
    let old = || {
        vec![
            Val::Text(platform.as_str().to_owned()),
            Val::Text(from.to_owned()),
        ]
    };
    let mut posts = vec![Val::Int(now.as_millis())];
    posts.extend(old());
    let mut channels = vec![Val::Text(to.to_owned())];
    channels.extend(old());
    vec![
        write(
            d,
            "UPDATE chat_posts SET message_ref = NULL, attempts = 0, next_attempt_at = ? \
             WHERE chat_channel_id IN \
             (SELECT id FROM chat_channels WHERE platform = ? AND channel = ?)",
            posts,
        ),
        write(
            d,
            "UPDATE chat_channels SET channel = ?, failing = NULL WHERE platform = ? AND channel = ?",
            channels,
        ),
    ]
}

/// A retry's columns: `counted` as one more attempt or not (a rate limit is not one).
fn retry_set(error: &str, at: Timestamp, counted: bool) -> (&'static str, Vec<Val>) {
    (
        "attempts = attempts + ?, next_attempt_at = ?, last_error = ?",
        vec![
            Val::Int(i64::from(counted)),
            Val::Int(at.as_millis()),
            Val::Text(error.to_owned()),
        ],
    )
}

impl Store {
    /// Posts every incident of `scope` opened from now on to `channel`.
    pub async fn add_chat_channel(
        &self,
        scope: ChatScope,
        platform: ChatPlatform,
        channel: &str,
        now: Timestamp,
    ) -> Result<ChatChannel, StoreError> {
        let made = ChatChannel {
            id: ChatChannelId::new(now),
            platform,
            channel: channel.to_owned(),
            scope,
            failing: None,
        };
        insert_channel(&mut *self.write_conn().await?, &made, now).await?;
        Ok(made)
    }

    /// The channels of a service or team, oldest first.
    pub async fn chat_channels(&self, scope: ChatScope) -> Result<Vec<ChatChannel>, StoreError> {
        let (column, id) = match scope {
            ChatScope::Service(s) => ("service_id", s.to_string()),
            ChatScope::Team(t) => ("team_id", t.to_string()),
        };
        let sql = format!(
            "SELECT id, platform, channel, service_id, team_id, failing FROM chat_channels \
             WHERE {column} = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(channel_from_row).collect()
    }

    pub async fn chat_channel(&self, id: ChatChannelId) -> Result<ChatChannel, StoreError> {
        let row = sqlx::query(
            "SELECT id, platform, channel, service_id, team_id, failing FROM chat_channels WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("chat channel {id}")))?;
        channel_from_row(&row)
    }

    /// Posts to a channel marked failing again (it was fixed: the app is back in it).
    pub async fn revive_chat_channel(&self, id: ChatChannelId) -> Result<(), StoreError> {
        sqlx::query("UPDATE chat_channels SET failing = NULL WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Every channel attached to conversation `from` on `platform` follows it to its new id
    /// `to` (Telegram says so when it upgrades a group to a supergroup). Returns how many
    /// channels moved.
    pub async fn move_chat_channels(
        &self,
        platform: ChatPlatform,
        from: &str,
        to: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let moving: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_channels WHERE platform = $1 AND channel = $2",
        )
        .bind(platform.as_str())
        .bind(from.to_owned())
        .fetch_one(&self.read)
        .await?;
        if moving == 0 {
            return Ok(0);
        }
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        execute_writes(
            &mut tx,
            self.backend,
            moved_writes(self.backend, platform, from, to, now),
        )
        .await?;
        tx.commit().await?;
        Ok(u64::try_from(moving).unwrap_or(0))
    }

    /// Stops posting to a channel (its messages so far stay where they are).
    pub async fn delete_chat_channel(&self, id: ChatChannelId) -> Result<(), StoreError> {
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        delete_channel_on(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Messages behind their incident and due, oldest first.
    pub async fn due_chat_posts(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueChatPost>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.incident_id, p.chat_channel_id, p.message_ref, p.changes, p.attempts, \
             i.number, i.summary, i.severity, i.urgency, i.status, s.name AS service_name, \
             c.platform, c.channel FROM chat_posts p \
             JOIN incidents i ON i.id = p.incident_id JOIN services s ON s.id = i.service_id \
             JOIN chat_channels c ON c.id = p.chat_channel_id \
             WHERE p.shown < p.changes AND p.next_attempt_at <= $1 AND c.failing IS NULL \
             ORDER BY p.next_attempt_at, p.incident_id LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let place = PostPlace::Channel {
                    id: parse_col(row, "chat_channel_id", str::parse)?,
                    changes: col(row, "changes")?,
                };
                due_post(row, place, col(row, "message_ref")?)
            })
            .collect()
    }

    /// Records how each message went, in one transaction; a refused channel is marked
    /// failing and says so on the incident's timeline (`line`).
    pub async fn record_chat_posts(
        &self,
        results: &[(DueChatPost, ChatPostResult, String)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let d = self.backend;
        let mut writes = Vec::new();
        let mut timeline = Vec::new();
        for (post, result, line) in results {
            if !matches!(
                result,
                ChatPostResult::Shown { .. } | ChatPostResult::Repost
            ) {
                timeline.push(timeline_row(
                    post.incident,
                    now,
                    TimelineKind::Notified,
                    &Actor::System,
                    line.clone(),
                    None,
                    None,
                ));
            }
            match &post.place {
                PostPlace::Channel { id, changes } => {
                    writes.extend(channel_post_writes(d, post, *id, *changes, result, now))
                }
                PostPlace::Direct { method, .. } => {
                    writes.extend(direct_post_writes(d, post, *method, result))
                }
            }
        }
        writes.extend(timeline_writes(d, timeline));
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a one-time code (its hash) that links a chat account to `user` until
    /// `expires`; the person's earlier codes for the platform go.
    pub async fn add_link_code(
        &self,
        platform: ChatPlatform,
        user: UserId,
        code_hash: &str,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        sqlx::query("DELETE FROM chat_link_codes WHERE platform = $1 AND user_id = $2")
            .bind(platform.as_str())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO chat_link_codes (code_hash, platform, user_id, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash.to_owned())
        .bind(platform.as_str())
        .bind(user.to_string())
        .bind(expires.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user a one-time code was made for, if it is still valid; the code is used up.
    pub async fn take_link_code(
        &self,
        platform: ChatPlatform,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let row = sqlx::query(
            "SELECT user_id, expires_at FROM chat_link_codes WHERE code_hash = $1 AND platform = $2",
        )
        .bind(code_hash.to_owned())
        .bind(platform.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        // Whoever deletes the row used the code: two uses racing cannot both win.
        let deleted =
            sqlx::query("DELETE FROM chat_link_codes WHERE code_hash = $1 AND platform = $2")
                .bind(code_hash.to_owned())
                .bind(platform.as_str())
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        let Some(row) = row.filter(|_| deleted.rows_affected() == 1) else {
            return Ok(None);
        };
        if col::<i64>(&row, "expires_at")? < now.as_millis() {
            return Ok(None);
        }
        Ok(Some(parse_col(&row, "user_id", str::parse)?))
    }

    /// The onduty user a chat account is linked to.
    pub async fn chat_user(
        &self,
        platform: ChatPlatform,
        chat_user: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row =
            sqlx::query("SELECT user_id FROM chat_links WHERE platform = $1 AND chat_user = $2")
                .bind(platform.as_str())
                .bind(chat_user.to_owned())
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| parse_col(&r, "user_id", str::parse))
            .transpose()
    }

    /// The chat account linked to `user` on `platform`, if any (the latest linked).
    pub async fn chat_account(
        &self,
        platform: ChatPlatform,
        user: UserId,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT chat_user FROM chat_links WHERE platform = $1 AND user_id = $2 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(platform.as_str())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| col(&r, "chat_user")).transpose()
    }

    /// Links a chat account to an onduty user (again, if it was someone else's).
    pub async fn link_chat_user(
        &self,
        platform: ChatPlatform,
        chat_user: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_links (platform, chat_user, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (platform, chat_user) DO UPDATE SET user_id = excluded.user_id, \
             created_at = excluded.created_at",
        )
        .bind(platform.as_str())
        .bind(chat_user.to_owned())
        .bind(user.to_string())
        .bind(now.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }
}

/// Adds a chat channel, inside the caller's transaction.
pub(crate) async fn insert_channel(
    conn: &mut sqlx::AnyConnection,
    channel: &ChatChannel,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (service, team) = match channel.scope {
        ChatScope::Service(s) => (Some(s.to_string()), None),
        ChatScope::Team(t) => (None, Some(t.to_string())),
    };
    sqlx::query(
        "INSERT INTO chat_channels (id, platform, channel, service_id, team_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(channel.id.to_string())
    .bind(channel.platform.as_str())
    .bind(channel.channel.clone())
    .bind(service)
    .bind(team)
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stops posting to a chat channel and forgets its posts, inside the caller's transaction.
pub(crate) async fn delete_channel_on(
    conn: &mut sqlx::AnyConnection,
    id: ChatChannelId,
) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM chat_posts WHERE chat_channel_id = $1",
        "DELETE FROM chat_channels WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
