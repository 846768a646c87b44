//! `onduty export` and `onduty plan`: configuration as code through `/api/v1/config`.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use reqwest::Method;

use super::Client;
use crate::output::clean;

impl Client {
    /// Everything configured, as YAML, to standard output or a file.
    pub(super) async fn export(
        &self,
        with_secrets: bool,
        output: Option<std::path::PathBuf>,
    ) -> anyhow::Result<()> {
        let path = if with_secrets {
            "/config?with_secrets=true"
        } else {
            "/config"
        };
        let yaml = self.call_text(Method::GET, path, None).await?;
        match output {
            Some(file) => {
                std::fs::write(&file, &yaml)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!("Wrote {}.", file.display());
            }
            None => print!("{yaml}"),
        }
        Ok(())
    }

    /// What applying a document would change; changes nothing.
    pub(super) async fn plan(&self, file: &Path, prune: bool) -> anyhow::Result<()> {
        let yaml = read_document(file)?;
        let path = if prune {
            "/config/plan?prune=true"
        } else {
            "/config/plan"
        };
        let planned = self
            .post_yaml(path, yaml)
            .await
            .with_context(|| format!("{} cannot be applied", file.display()))?;
        self.output(&planned, |p| {
            print!("{}", clean_lines(p["text"].as_str().unwrap_or("")));
        });
        Ok(())
    }
}

/// A document from a file, or standard input for `-`.
fn read_document(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

fn clean_lines(text: &str) -> String {
    text.lines().map(|l| clean(l) + "\n").collect()
}
