//! The `onduty` binary as a library: configuration, the command line, and the wiring
//! of store, writer and web server. `main.rs` only parses arguments and calls [`run`].

pub mod admin;
pub mod backup;
pub mod cli;
pub mod client;
pub mod config;
pub mod files;
pub mod import;
pub mod output;
pub mod serve;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::{Config, LogFormat};

/// Runs one command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(cli))
}

async fn run_async(cli: Cli) -> anyhow::Result<()> {
    // reqwest's TLS (for client commands) uses rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let program = std::env::args()
        .next()
        .unwrap_or_else(|| "onduty".to_owned());
    match cli.command {
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Schema,
        } => {
            let schema = onduty_core::config_doc::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            println!("{config:#?}");
            Ok(())
        }
        Command::Serve => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            init_logging(&config)?;
            serve::serve(config, &program).await
        }
        Command::Migrate => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            init_logging(&config)?;
            let store = serve::open_store(&config).await?;
            store.close().await;
            println!("Database is up to date ({}).", config.database_display());
            Ok(())
        }
        Command::Backup { file } => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            init_logging(&config)?;
            backup::backup(&config, &file).await
        }
        Command::Restore { file } => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            init_logging(&config)?;
            backup::restore(&config, &file).await
        }
        Command::Admin { command } => {
            let config = Config::load(cli.config.as_deref(), &cli.overrides)?;
            init_logging(&config)?;
            let store = serve::open_store(&config).await?;
            let url = serve::public_url(&config, config.listen);
            let result = admin::run(&store, command, &url, cli.client.json).await;
            store.close().await;
            result
        }
        Command::Import { source } => import::run(source, cli.client.url.as_deref()).await,
        command => client::Client::new(&cli.client)?.run(command).await,
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.log)
        .with_context(|| format!("invalid log filter '{}'", config.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}
