//! The commented `onduty.toml` that `onduty config example` prints: every setting, its
//! environment variable and its default. A test reads it back as a configuration.

/// The commented example printed by `onduty config example`.
pub const EXAMPLE: &str = r#"# onduty.toml: onduty's configuration file. Every setting is optional.
# Precedence: these defaults < this file < ONDUTY_* environment variables < command-line flags.

# Address to listen on. (ONDUTY_LISTEN, --listen)
listen = "127.0.0.1:8080"

# Where the embedded SQLite database lives, created on first start. (ONDUTY_DATA_DIR, --data-dir)
data_dir = "./onduty-data"

# Use PostgreSQL instead of the embedded SQLite database. Several onduty instances may
# share one PostgreSQL database. (ONDUTY_DATABASE_URL, --database-url)
# database_url = "postgres://onduty:secret@127.0.0.1:5432/onduty"

# The URL people and monitoring tools use to reach onduty; shown in integration examples.
# Default: http://<listen address>. (ONDUTY_PUBLIC_URL, --public-url)
# public_url = "https://onduty.example.com"

# Behind a reverse proxy: the proxies whose X-Forwarded-For header is believed, so that
# log-in limits count each client rather than the proxy. (ONDUTY_TRUSTED_PROXIES,
# --trusted-proxies, comma-separated)
# trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]

# Webhooks (and later chat, push and subscriber addresses) are never sent to loopback,
# private, link-local or other internal addresses, whatever a name resolves to, and
# redirects are not followed. Open internal targets here: networks, addresses or host
# names. (ONDUTY_OUTBOUND_ALLOW, --outbound-allow, comma-separated)
# outbound.allow = ["10.20.0.0/16", "alerts.internal"]

# HTTP connections served at once; past it a new connection is answered 503 and closed.
# A client must send a request's headers within 15 seconds (an idle kept-alive connection
# is closed after as long). At start onduty raises its open-file limit to the hard limit,
# and serves fewer connections if that limit asks, keeping 256 files for the database.
# (ONDUTY_MAX_CONNECTIONS, --max-connections)
# max_connections = 10000

# Logs go to standard error: "text" for people, "json" for log collectors.
# (ONDUTY_LOG_FORMAT, --log-format)
log_format = "text"
# Log filter in tracing's syntax, for example "info" or "info,onduty_store=debug".
# (ONDUTY_LOG, --log)
log = "info"

[messages]
# Verification codes and test messages (not pages) that onduty sends per hour: to one
# person, and in all. Anyone can ask for them, and by SMS or call they cost money; past a
# limit the request is refused (429) and admins see who asked under People.
per_person_per_hour = 10
per_hour = 100

[ingest]
# Events accepted per routing key per minute, and the largest burst; over it, senders get
# 429 and retry. 0 turns the limit off. (ONDUTY_INGEST_RATE_LIMIT_PER_MINUTE)
rate_limit_per_minute = 6000
# Most events committed in one transaction by the ingest writer.
max_batch = 512
# SQLite durability: "full" survives power loss; "normal" may lose the last commits on
# power loss (never on a process crash). (ONDUTY_SQLITE_SYNCHRONOUS)
sqlite_synchronous = "full"

# SMS and voice calls through Twilio. Twilio calls back at <public_url>/twilio/sms (set it
# as the number's "A message comes in" webhook), /twilio/voice and /twilio/status, so
# public_url must be reachable from the internet.
# (ONDUTY_TWILIO_ACCOUNT_SID, ONDUTY_TWILIO_AUTH_TOKEN, ONDUTY_TWILIO_FROM, ONDUTY_TWILIO_API_BASE)
# [twilio]
# account_sid = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
# auth_token = "your auth token"
# from = "+15005550006"
# api_base = "https://api.twilio.com"

# Slack: every incident of a service or team posted to its channels, with buttons, and a
# /onduty slash command. Slack calls back at <public_url>/slack/interactions and
# /slack/commands; the README walks through creating the app.
# (ONDUTY_SLACK_BOT_TOKEN, ONDUTY_SLACK_SIGNING_SECRET, ONDUTY_SLACK_API_BASE)
# [slack]
# bot_token = "xoxb-…"
# signing_secret = "your app's signing secret"
# team_id = "T0123ABCD"    # only this workspace's clicks and commands (ONDUTY_SLACK_TEAM_ID)
# api_base = "https://slack.com/api"

# Telegram: every incident of a service or team posted to its groups, with buttons. Point
# the bot's webhook at <public_url>/telegram/webhook with this secret (the README shows the
# setWebhook call). (ONDUTY_TELEGRAM_BOT_TOKEN, ONDUTY_TELEGRAM_WEBHOOK_SECRET,
# ONDUTY_TELEGRAM_API_BASE)
# [telegram]
# bot_token = "123456:ABC-…"
# webhook_secret = "a-long-random-string"
# api_base = "https://api.telegram.org"

# Mattermost: every incident of a service or team posted to its channels, with buttons
# that call back at <public_url>/mattermost/actions. The bot needs a personal access token,
# and the server must allow untrusted internal connections to onduty's host (the README
# has the steps). (ONDUTY_MATTERMOST_URL, ONDUTY_MATTERMOST_BOT_TOKEN)
# [mattermost]
# url = "https://chat.example.com"
# bot_token = "the bot's access token"

# Microsoft Teams and Discord need no settings here: a channel is added with its webhook's
# URL, and requests to it obey [outbound].

# E-mail over SMTP. security: "starttls" (port 587), "tls" (port 465) or "plain" (port 25).
# (ONDUTY_SMTP_HOST, ONDUTY_SMTP_PORT, ONDUTY_SMTP_SECURITY, ONDUTY_SMTP_USERNAME,
#  ONDUTY_SMTP_PASSWORD, ONDUTY_SMTP_FROM)
# [smtp]
# host = "smtp.example.com"
# security = "starttls"
# username = "onduty@example.com"
# password = "secret"
# from = "onduty <onduty@example.com>"

# Taking mail in: mail to <integration key>@<domain> becomes an event of that integration
# (integrations of type "email"; a heartbeat's key is a ping). Point an MX record or a
# forwarding rule at it. (ONDUTY_MAIL_LISTEN, ONDUTY_MAIL_DOMAIN)
# [mail]
# listen = "0.0.0.0:2525"
# domain = "onduty.example.com"   # default: the public URL's host
# STARTTLS, offered when both are set (ONDUTY_MAIL_TLS_CERT, ONDUTY_MAIL_TLS_KEY):
# tls_cert = "/etc/onduty/mail.crt"    # PEM certificate chain, the server's own first
# tls_key = "/etc/onduty/mail.key"     # PEM private key (both read again on SIGHUP)

# /metrics in Prometheus's format: on an address of its own without a token (keep it
# internal), and/or on the main address to scrapes with 'Authorization: Bearer <token>'.
# Neither set: not served. (ONDUTY_METRICS_LISTEN, ONDUTY_METRICS_TOKEN)
# [metrics]
# listen = "127.0.0.1:9464"
# token = "at least 16 characters"

# Who watches the watchman. ping_url: a dead-man's switch (healthchecks.io, Uptime Kuma's
# push monitor, …) pinged every minute while the paging engine is healthy; when the pings
# stop, that service tells you. Requests to it obey [outbound]. routing_key: an
# integration's key; an instance that takes the engine over from one that stopped renewing
# its lease raises an incident there. (ONDUTY_WATCHDOG_PING_URL, ONDUTY_WATCHDOG_ROUTING_KEY)
# [watchdog]
# ping_url = "https://hc-ping.com/your-check-uuid"
# routing_key = "the 32-character key of an integration"

# HTTPS without a proxy: the certificate chain (the server's own first) and its private
# key, in PEM. Both files are read again on SIGHUP (after a renewal): new connections get
# the new certificate, open ones keep theirs. redirect_listen answers plain HTTP with a
# redirect to HTTPS. (ONDUTY_TLS_CERT, ONDUTY_TLS_KEY, ONDUTY_TLS_REDIRECT_LISTEN)
# [tls]
# cert = "/etc/onduty/tls/fullchain.pem"
# key = "/etc/onduty/tls/privkey.pem"
# redirect_listen = "0.0.0.0:80"

# Data retention: raw events (as received) and the timelines of incidents resolved more
# than this many days ago (7 to 3650) are deleted in the background. Incidents, postmortems
# and report figures stay. Default: kept forever. (ONDUTY_RETENTION_DAYS)
# The audit log's entries are deleted once older than audit_days (7 to 3650; default:
# kept forever). (ONDUTY_RETENTION_AUDIT_DAYS)
# [retention]
# days = 400
# audit_days = 730

# Single sign-on through an OpenID Connect provider (README: "Single sign-on"). The
# redirect URI to register is <public_url>/auth/oidc/callback. (ONDUTY_OIDC_CLIENT_SECRET)
# [oidc]
# issuer = "https://id.example.com/realms/ops"
# client_id = "onduty"
# client_secret = "..."
# create_users = true
# default_role = "observer"
# local_passwords = true
# [oidc.group_roles]
# "oncall-admins" = "admin"
"#;
