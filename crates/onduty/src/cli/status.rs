//! `onduty status …`: public status pages from the command line.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// List the status pages
    Pages,
    /// A page's components and the public incidents not over (drafts too)
    Show {
        /// Page slug or id
        page: String,
    },
    /// Make a status page (admins)
    Create {
        /// Its address: /status/<slug>
        slug: String,
        /// Its name, as the public reads it
        #[arg(long)]
        name: String,
        /// A host name of its own (status.example.com)
        #[arg(long)]
        host: Option<String>,
        /// Its clock (IANA name); default UTC
        #[arg(long)]
        time_zone: Option<String>,
        /// Publish the drafts made for a linked service's incidents at once
        #[arg(long)]
        auto_publish: bool,
        /// Remind of a public incident left open after its onduty incident is resolved
        /// this often (default 30)
        #[arg(long, value_name = "MINUTES")]
        remind_every: Option<u32>,
    },
    /// Add a component or a group to a page (admins)
    AddComponent {
        /// Page slug or id
        page: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The group it is shown in (id or name)
        #[arg(long)]
        group: Option<String>,
        /// A group of components rather than one
        #[arg(long)]
        is_group: bool,
        /// The onduty service it stands for (id or name)
        #[arg(long)]
        service: Option<String>,
    },
    /// Publish a public incident: what the public reads, and the components' new states
    Publish {
        /// Page slug or id
        page: String,
        /// Its title (or the template's)
        #[arg(long)]
        name: Option<String>,
        /// What the public reads (or the template's)
        #[arg(long)]
        body: Option<String>,
        /// A component's new state, as NAME=STATE (operational, degraded_performance,
        /// partial_outage, major_outage, under_maintenance); again for more
        #[arg(long = "component", value_name = "NAME=STATE")]
        components: Vec<String>,
        /// The onduty incident it tells of (number or id)
        #[arg(long)]
        incident: Option<String>,
        /// A template (name or id) filling in what is left out
        #[arg(long)]
        template: Option<String>,
    },
    /// Post an update to a public incident
    Update {
        /// Page slug or id
        page: String,
        /// The public incident's id
        id: String,
        /// investigating, identified, monitoring or resolved (a maintenance: scheduled,
        /// in_progress, verifying or completed)
        #[arg(long)]
        status: String,
        /// What the public reads
        #[arg(long)]
        body: String,
        /// A component's new state, as NAME=STATE; again for more
        #[arg(long = "component", value_name = "NAME=STATE")]
        components: Vec<String>,
    },
    /// Publish a draft onduty made for an incident
    PublishDraft {
        /// Page slug or id
        page: String,
        /// The draft's id
        id: String,
    },
    /// A page's incident templates
    Templates {
        /// Page slug or id
        page: String,
    },
    /// A page's subscribers (admins)
    Subscribers {
        /// Page slug or id
        page: String,
    },
}
