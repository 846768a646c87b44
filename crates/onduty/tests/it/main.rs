//! onduty's behaviour tests, one binary: stories told over real HTTP against a server on
//! port 0, and against the real `onduty` executable where the story needs a process
//! (first start, the CLI, a crash).

mod access;
mod actions;
mod alertmanager_peer;
mod api;
mod browser;
mod chat_webhooks;
mod cli;
mod connections;
mod contacts;
mod crash;
mod empty_levels;
mod engine;
mod heartbeats;
mod ingest;
mod logs;
mod mail;
mod maintenance;
mod mattermost;
mod monitoring;
mod noise;
mod nul;
mod opsgenie;
mod opsgenie_sdk;
mod outbound;
mod paging;
mod postmortem_impact;
mod postmortems;
mod process;
mod push;
mod replies;
mod reports;
mod runbooks;
mod schedules;
mod setup;
mod slack;
mod status_page;
mod status_reminders;
mod status_subscribers;
mod status_templates;
mod statuspage_client;
mod telegram;
mod ui;
mod ui_setup;
mod webpush;
