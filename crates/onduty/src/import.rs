//! `onduty import`: another product's configuration, read through its REST API, written
//! as a configuration document (to review, then `onduty apply`), with the report on
//! standard error. Nothing is sent to onduty.

use std::io::Write as _;

use anyhow::Context;
use onduty_core::config_doc;
use onduty_core::{RoutingKey, Timestamp};
use onduty_import::{Imported, fetch, grafana_oncall, opsgenie, pagerduty};

use crate::cli::{ImportOutput, ImportSource};

/// Where onduty is, for the integration addresses in the report.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

pub async fn run(source: ImportSource, onduty_url: Option<&str>) -> anyhow::Result<()> {
    let (imported, output) = match source {
        ImportSource::Pagerduty {
            api_token,
            api_url,
            output,
        } => {
            let api = pagerduty::api(&api_url, &api_token, fetch::sleeping())?;
            let at = start(&output)?;
            eprintln!("Reading {} at {api_url} …", pagerduty::PRODUCT);
            let imported = pagerduty::import(&api, at, output.days, new_key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))?;
            (imported, output)
        }
        ImportSource::Opsgenie {
            api_key,
            api_url,
            output,
        } => {
            let api = opsgenie::api(&api_url, &api_key, fetch::sleeping())?;
            let at = start(&output)?;
            eprintln!("Reading {} at {api_url} …", opsgenie::PRODUCT);
            let imported = opsgenie::import(&api, at, output.days, new_key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))?;
            (imported, output)
        }
        ImportSource::GrafanaOncall {
            api_url,
            api_token,
            output,
        } => {
            let api = grafana_oncall::api(&api_url, &api_token, fetch::sleeping())?;
            let at = start(&output)?;
            eprintln!("Reading {} at {api_url} …", grafana_oncall::PRODUCT);
            let imported = grafana_oncall::import(&api, at, output.days, new_key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))?;
            (imported, output)
        }
    };
    write(&imported, &output, onduty_url.unwrap_or(DEFAULT_URL))
}

/// When the comparison starts: `--at`, else now.
fn start(output: &ImportOutput) -> anyhow::Result<Timestamp> {
    match &output.at {
        Some(at) => Timestamp::parse(at)
            .map_err(|_| anyhow::anyhow!("'--at {at}' is not a time such as 2026-01-15T00:00:00Z")),
        None => Ok(Timestamp::from_millis(
            jiff::Timestamp::now().as_millisecond(),
        )),
    }
}

/// A new onduty integration key.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    RoutingKey::from_random(bytes).as_str().to_owned()
}

fn write(imported: &Imported, output: &ImportOutput, onduty_url: &str) -> anyhow::Result<()> {
    let yaml = config_doc::to_yaml(&imported.doc).map_err(anyhow::Error::msg)?;
    let header = format!(
        "# Imported from {}. Review it, then: onduty apply -f <this file> --dry-run\n",
        imported.report.product
    );
    match &output.output {
        Some(file) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut handle = options
                .open(file)
                .with_context(|| format!("cannot write {}", file.display()))?;
            handle
                .write_all(format!("{header}{yaml}").as_bytes())
                .with_context(|| format!("cannot write {}", file.display()))?;
            eprint!("{}", imported.report.text(onduty_url));
            eprintln!("\nWrote {}.", file.display());
        }
        None => {
            print!("{header}{yaml}");
            eprint!("{}", imported.report.text(onduty_url));
        }
    }
    Ok(())
}
