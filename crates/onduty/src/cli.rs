//! The command line: `serve`, `migrate`, `config`, `admin` (direct database access) and
//! the client commands that talk to a running server over the REST API.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

mod status;
pub use status::StatusCommand;

#[derive(Debug, Parser)]
#[command(
    name = "onduty",
    version,
    about = "On-call and incident alerting: PagerDuty-compatible events in, incidents out.",
    after_help = "Start with `onduty serve`; it prints how to log in and send a first event."
)]
pub struct Cli {
    /// Configuration file [default: ./onduty.toml if it exists]
    #[arg(long, env = "ONDUTY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// How client commands reach a running onduty.
#[derive(Clone, Args)]
pub struct ClientArgs {
    /// URL of the onduty server, for client commands [default: http://127.0.0.1:8080]
    #[arg(long, env = "ONDUTY_URL", global = true)]
    pub url: Option<String>,
    /// API token, for client commands
    #[arg(long, env = "ONDUTY_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

impl std::fmt::Debug for ClientArgs {
    // The token is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientArgs")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("json", &self.json)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the database and the first admin on first start)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
    /// Configuration helpers
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy the SQLite database to FILE, consistent, while onduty runs
    Backup {
        /// Where the copy goes; must not exist yet
        file: std::path::PathBuf,
    },
    /// Put a backup back as the SQLite database (onduty stopped); the database it
    /// replaces is kept beside it
    Restore {
        /// A file `onduty backup` made
        file: std::path::PathBuf,
    },
    /// Administration straight on the database; works without a running server
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// List incidents (client)
    Incidents {
        /// triggered, acknowledged, resolved, open or all
        #[arg(long, default_value = "open")]
        status: String,
        /// Only this service (name or id)
        #[arg(long)]
        service: Option<String>,
        /// Only incidents assigned to me
        #[arg(long)]
        mine: bool,
        /// How many to show (1 to 100)
        #[arg(long, default_value_t = 25)]
        limit: u32,
    },
    /// Show an incident and its timeline (client)
    Incident {
        /// Incident number or id
        incident: String,
    },
    /// Acknowledge incidents (client)
    Ack {
        /// Incident numbers or ids
        #[arg(required = true)]
        incidents: Vec<String>,
    },
    /// Resolve incidents (client)
    Resolve {
        /// Incident numbers or ids
        #[arg(required = true)]
        incidents: Vec<String>,
    },
    /// Trigger acknowledged incidents again: their policy pages from level 1 (client)
    Unack {
        /// Incident numbers or ids
        #[arg(required = true)]
        incidents: Vec<String>,
    },
    /// Page the next level of an incident's policy now, or the level given (client)
    Escalate {
        /// Incident number or id
        incident: String,
        /// The level to page, from 1
        #[arg(long)]
        level: Option<u32>,
    },
    /// Hand an incident to a person or an escalation policy (client)
    Reassign {
        /// Incident number or id
        incident: String,
        /// A user's e-mail or id
        #[arg(long, conflicts_with = "policy", required_unless_present = "policy")]
        user: Option<String>,
        /// An escalation policy's name or id
        #[arg(long)]
        policy: Option<String>,
    },
    /// Page more people for an incident now (client)
    Responders {
        /// Incident number or id
        incident: String,
        /// E-mails or ids of the people to page
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Quiet an incident for some minutes, then trigger it again (client)
    Snooze {
        /// Incident number or id
        incident: String,
        /// Minutes, 1 to 10080
        minutes: u32,
    },
    /// Add a note to an incident's timeline (client)
    Note {
        /// Incident number or id
        incident: String,
        /// The note
        text: String,
    },
    /// Who is on call now in every schedule, and whom each policy level pages (client)
    Oncall {
        /// Another moment than now (RFC 3339)
        #[arg(long)]
        at: Option<String>,
    },
    /// List schedules with who is on call now (client)
    Schedules,
    /// Show a schedule (client)
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Add, list or remove overrides: someone covering a span of a schedule (client)
    Override {
        #[command(subcommand)]
        command: OverrideCommand,
    },
    /// List services (client)
    Services,
    /// Manage services (client)
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Manage integrations (client)
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
    },
    /// List or revoke API tokens: yours, or anyone's for admins (client)
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Disable, enable or delete a person (client; admins)
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Public status pages: list them, show one, publish and update public incidents
    /// (client)
    Status {
        #[command(subcommand)]
        command: StatusCommand,
    },
    /// Postmortems: list them, start one, export one as Markdown (client)
    Postmortem {
        #[command(subcommand)]
        command: PostmortemCommand,
    },
    /// A report over a period: incidents, time to acknowledge and resolve, noise and each
    /// person's load (client)
    Report(ReportArgs),
    /// Write everything configured as one YAML document (client; admins)
    Export {
        /// Include integration keys (anyone holding one can open incidents)
        #[arg(long)]
        with_secrets: bool,
        /// Write to this file rather than standard output
        #[arg(long, short = 'o', conflicts_with = "dir")]
        output: Option<std::path::PathBuf>,
        /// Write one file per kind into this folder (users.yaml, teams.yaml, …)
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Read another on-call product's configuration through its REST API and write it as
    /// an onduty configuration document, with a report (nothing is applied)
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Make the configuration what a document says, in one transaction; prints each
    /// creation, change and deletion (client; admins)
    Apply {
        /// The document (`-` for standard input), or a folder of them (*.yaml, *.yml)
        #[arg(long, short = 'f')]
        file: std::path::PathBuf,
        /// Only print what would change; change nothing
        #[arg(long)]
        dry_run: bool,
        /// Also delete what the document does not name (never services, status pages,
        /// heartbeats or components)
        #[arg(long)]
        prune: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// From PagerDuty: users, teams, schedules, escalation policies, services
    Pagerduty {
        /// A REST API token (read-only is enough)
        #[arg(long, env = "PAGERDUTY_API_TOKEN", hide_env_values = true)]
        api_token: String,
        #[arg(long, default_value = onduty_import::pagerduty::API_URL)]
        api_url: String,
        #[command(flatten)]
        output: ImportOutput,
    },
    /// From Opsgenie: users, teams, schedules, escalations, services, integrations
    Opsgenie {
        /// An API key with read access to the configuration
        #[arg(long, env = "OPSGENIE_API_KEY", hide_env_values = true)]
        api_key: String,
        /// EU accounts: https://api.eu.opsgenie.com
        #[arg(long, default_value = onduty_import::opsgenie::API_URL)]
        api_url: String,
        #[command(flatten)]
        output: ImportOutput,
    },
    /// From Grafana OnCall: users, teams, schedules, escalation chains, integrations
    GrafanaOncall {
        /// The OnCall API URL (Grafana Cloud shows it on OnCall's settings page)
        #[arg(long)]
        api_url: String,
        /// An OnCall API token
        #[arg(long, env = "GRAFANA_ONCALL_API_TOKEN", hide_env_values = true)]
        api_token: String,
        #[command(flatten)]
        output: ImportOutput,
    },
}

#[derive(Debug, Args)]
pub struct ImportOutput {
    /// Write the document to this file (readable by you alone: it holds the new
    /// integration keys) rather than standard output; the report goes to standard error
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Compare who is on call over this many days
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: u32,
    /// Compare from this time (RFC 3339) rather than now
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Start of the period (RFC 3339, or a date: its midnight UTC); default 28 days before
    /// the end
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, excluded (RFC 3339, or a date: its midnight UTC); default now
    #[arg(long)]
    pub to: Option<String>,
    /// Only this team's services (id or name)
    #[arg(long)]
    pub team: Option<String>,
    /// Only this service (id or name)
    #[arg(long)]
    pub service: Option<String>,
    /// Only services paging through this escalation policy (id or name)
    #[arg(long)]
    pub policy: Option<String>,
    /// Only `high` or `low` urgency incidents
    #[arg(long)]
    pub urgency: Option<String>,
    /// CSV on standard output (section,name,week,metric,value)
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum PostmortemCommand {
    /// Postmortems, newest first
    List,
    /// Start a postmortem of one or more incidents; you own it
    Start {
        /// Incident numbers or ids
        #[arg(required = true)]
        incidents: Vec<String>,
    },
    /// A postmortem as Markdown, on standard output (`--json`: the whole document)
    Export {
        /// The postmortem's id (from `onduty postmortem list`)
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List API tokens (never their secrets)
    List {
        /// Someone else's (admins): e-mail or id
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API token: it is refused from then on
    Revoke {
        /// The token's id (from `onduty token list`)
        id: String,
        /// Someone else's (admins): e-mail or id
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Disable a person: their sessions and tokens end at once, they cannot log in and are
    /// not paged
    Disable {
        /// E-mail or id
        user: String,
    },
    /// Let a disabled person log in again
    Enable {
        /// E-mail or id
        user: String,
    },
    /// Delete a person for good; incidents' histories keep their name
    Delete {
        /// E-mail or id
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example onduty.toml
    Example,
    /// Print the configuration in effect (secrets hidden)
    Show,
    /// Print the JSON Schema of the configuration document (`onduty export`), for editors
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Users
    User {
        #[command(subcommand)]
        command: AdminUserCommand,
    },
    /// API tokens
    Token {
        #[command(subcommand)]
        command: AdminTokenCommand,
    },
    /// Services
    Service {
        #[command(subcommand)]
        command: AdminServiceCommand,
    },
    /// Integrations
    Integration {
        #[command(subcommand)]
        command: AdminIntegrationCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminUserCommand {
    /// Create a user
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, responder or observer
        #[arg(long, default_value = "responder")]
        role: String,
        /// Also create an API token and print it
        #[arg(long)]
        with_token: bool,
    },
    /// List users
    List,
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create an API token for a user and print it (for example when the first one is lost)
    Create {
        /// The user's e-mail address
        #[arg(long)]
        email: String,
        /// What the token is for
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminServiceCommand {
    /// Create a service, with an Events API v2 integration unless told otherwise
    Create(NewServiceArgs),
    /// List services
    List,
}

#[derive(Debug, Clone, Args)]
pub struct NewServiceArgs {
    /// The service's name
    pub name: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// open (an acknowledged incident absorbs repeats) or triggered (a repeat after
    /// acknowledgement opens a new incident)
    #[arg(long, default_value = "open")]
    pub dedup_mode: String,
    /// Do not create an integration
    #[arg(long)]
    pub no_integration: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminIntegrationCommand {
    /// Add an Events API v2 integration (a new routing key) to a service
    Create(NewIntegrationArgs),
}

#[derive(Debug, Clone, Args)]
pub struct NewIntegrationArgs {
    /// The service's name or id
    #[arg(long)]
    pub service: String,
    #[arg(long, default_value = "Events API v2")]
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The final schedule: who is on call when (in the schedule's time zone), and gaps
    Show {
        /// Schedule name or id
        schedule: String,
        /// How many days ahead (1 to 400)
        #[arg(long, default_value_t = 14)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// Someone covers a span: `onduty override add "Ops rota" --user bob@example.com
    /// --start 2026-11-27T18:00 --end 2026-11-30T09:00` (times without an offset are in
    /// the schedule's time zone)
    Add {
        /// Schedule name or id
        schedule: String,
        /// Who covers: e-mail or id
        #[arg(long)]
        user: String,
        /// RFC 3339, or a local date and time in the schedule's time zone
        #[arg(long)]
        start: String,
        /// RFC 3339, or a local date and time in the schedule's time zone
        #[arg(long)]
        end: String,
    },
    /// Overrides in the next days
    List {
        /// Schedule name or id
        schedule: String,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Remove an override
    Remove {
        /// Schedule name or id
        schedule: String,
        /// The override's id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a service, with an Events API v2 integration unless told otherwise
    Create(NewServiceArgs),
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Add an Events API v2 integration (a new routing key) to a service
    Create(NewIntegrationArgs),
    /// Delete an integration: its key is refused from then on (admins)
    Delete {
        /// The integration's id
        id: String,
    },
    /// Give an integration a new key; the old one is refused from then on (admins)
    RotateKey {
        /// The integration's id
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// One concrete invocation of every command the README's "Command line" lists.
    const DOCUMENTED: &[&str] = &[
        "onduty serve",
        "onduty migrate",
        "onduty backup /var/backups/onduty.db",
        "onduty restore /var/backups/onduty.db",
        "onduty config example",
        "onduty config show",
        "onduty admin user create --email a@example.com --name Ann --role admin --with-token",
        "onduty admin user create --email a@example.com --name Ann --with-token --token odt_x",
        "onduty admin user list",
        "onduty admin token create --email a@example.com",
        "onduty admin service create Web --dedup-mode triggered --no-integration",
        "onduty admin service list",
        "onduty admin integration create --service Web",
        "onduty incidents --status all --service Web --mine",
        "onduty incident 3",
        "onduty ack 3 4",
        "onduty resolve 3",
        "onduty unack 3",
        "onduty note 3 looking",
        "onduty escalate 3 --level 2",
        "onduty reassign 3 --user a@example.com",
        "onduty reassign 3 --policy Ops",
        "onduty responders 3 a@example.com b@example.com",
        "onduty snooze 3 30",
        "onduty services",
        "onduty service create Web",
        "onduty integration create --service Web",
        "onduty oncall --at 2026-12-24T20:00:00Z",
        "onduty schedules",
        "onduty schedule show Ops --days 14",
        "onduty override add Ops --user a@example.com --start 2026-11-27T18:00 --end 2026-11-30T09:00",
        "onduty override list Ops",
        "onduty override remove Ops 0190",
        "onduty token list",
        "onduty token list --user a@example.com",
        "onduty token revoke 0190 --user a@example.com",
        "onduty user disable a@example.com",
        "onduty user enable a@example.com",
        "onduty user delete a@example.com",
        "onduty integration delete 0190",
        "onduty integration rotate-key 0190",
        "onduty status pages",
        "onduty status show acme",
        "onduty status publish acme --name Errors --body Looking. --component API=partial_outage --incident 42",
        "onduty status update acme 0190 --status resolved --body Fixed. --component API=operational",
        "onduty status publish-draft acme 0190",
        "onduty status publish acme --template Database",
        "onduty status create acme --name Acme --host status.acme.com --time-zone Europe/London --remind-every 60",
        "onduty status add-component acme --name API --description api.acme.com --service Checkout",
        "onduty status add-component acme --name EU --group Regions",
        "onduty status add-component acme --name Regions --is-group",
        "onduty status templates acme",
        "onduty status subscribers acme",
        "onduty postmortem list",
        "onduty postmortem start 41 42",
        "onduty postmortem export 019bbf98-7b80-7131-8360-656e92cd8a2e",
        "onduty report --from 2026-03-01 --to 2026-04-01 --team Platform",
        "onduty report --service Checkout --urgency high --csv",
        "onduty config schema",
        "onduty export -o onduty.yaml",
        "onduty export --with-secrets",
        "onduty export --dir config",
        "onduty apply -f onduty.yaml --dry-run",
        "onduty apply -f onduty.yaml",
        "onduty apply -f config --prune",
        "onduty import pagerduty --api-token u+abc -o onduty.yaml",
        "onduty import pagerduty --api-token u+abc --at 2026-01-15T00:00:00Z --days 14",
        "onduty import opsgenie --api-key 5c5f2d4e -o onduty.yaml",
        "onduty import opsgenie --api-key 5c5f2d4e --api-url https://api.eu.opsgenie.com",
        "onduty import grafana-oncall --api-url https://oncall-prod-eu-west-0.grafana.net/oncall --api-token T -o onduty.yaml",
    ];

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_documented_command_parses() {
        for line in DOCUMENTED {
            let words = line.split(' ');
            if let Err(e) = Cli::try_parse_from(words) {
                panic!("`{line}` does not parse: {e}");
            }
        }
    }

    /// Each line of the README's command list names a command tried above, so a
    /// command added to the README without an example here fails.
    #[test]
    fn the_readme_lists_only_commands_tried_here() {
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("## Command line")
            .nth(1)
            .and_then(|rest| rest.split("```").nth(1))
            .expect("the README has a command-line block");
        for line in block.lines().skip(1).filter(|l| l.starts_with("onduty ")) {
            let synopsis = line.split("  ").next().unwrap();
            for (i, alternative) in synopsis.split(" | ").enumerate() {
                let named: Vec<&str> = alternative
                    .split(' ')
                    .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                    .filter(|w| !w.starts_with('-') && *w != "onduty")
                    .collect();
                if named.is_empty() {
                    continue;
                }
                // "config example | show": a bare word after `|` continues the command before it.
                let wanted = named.join(" ");
                let tried = DOCUMENTED.iter().any(|d| {
                    let d = d.trim_start_matches("onduty ");
                    d.starts_with(&wanted) || (i > 0 && d.contains(&format!(" {wanted}")))
                });
                assert!(
                    tried,
                    "`{wanted}` (README: {line}) has no example in DOCUMENTED"
                );
            }
        }
    }
}
