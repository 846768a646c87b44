//! `onduty export` and `onduty apply`: configuration as code through `/api/v1/config`. A
//! folder holds one file per kind; it is read as one document, each problem named with
//! its file, line and field.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onduty_core::config_doc::{self, ConfigDoc, Known};
use reqwest::Method;

use super::Client;
use crate::output::clean;

/// The files a folder export writes, each with one kind.
const KINDS: [&str; 7] = [
    "users",
    "teams",
    "schedules",
    "escalation_policies",
    "services",
    "status_pages",
    "maintenance_windows",
];

impl Client {
    /// Everything configured, as YAML: to standard output, a file, or a folder.
    pub(super) async fn export(
        &self,
        with_secrets: bool,
        output: Option<PathBuf>,
        dir: Option<PathBuf>,
    ) -> anyhow::Result<()> {
        let yaml = self.exported(with_secrets).await?;
        if let Some(dir) = dir {
            let doc = config_doc::parse_only(&yaml)
                .map_err(|e| anyhow::anyhow!("the server's export cannot be read: {e:?}"))?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
            for kind in KINDS {
                let file = dir.join(format!("{kind}.yaml"));
                let yaml = config_doc::to_yaml(&only(&doc, kind)).map_err(anyhow::Error::msg)?;
                write_private(&file, &yaml, with_secrets)?;
            }
            eprintln!("Wrote {} files into {}.", KINDS.len(), dir.display());
            return Ok(());
        }
        match output {
            Some(file) => {
                write_private(&file, &yaml, with_secrets)?;
                eprintln!("Wrote {}.", file.display());
            }
            None => print!("{yaml}"),
        }
        Ok(())
    }

    async fn exported(&self, with_secrets: bool) -> anyhow::Result<String> {
        let path = if with_secrets {
            "/config?with_secrets=true"
        } else {
            "/config"
        };
        self.call_text(Method::GET, path, None).await
    }

    /// Applies a document (or a folder of them), or with `dry_run` says what applying it
    /// would change.
    pub(super) async fn apply(
        &self,
        file: &Path,
        dry_run: bool,
        prune: bool,
    ) -> anyhow::Result<()> {
        let yaml = if file.is_dir() {
            self.folder(file, prune).await?
        } else {
            read_document(file)?
        };
        let path = format!("/config/apply?prune={prune}&dry_run={dry_run}");
        let planned = self
            .post_yaml(&path, yaml)
            .await
            .with_context(|| format!("{} cannot be applied", file.display()))?;
        self.output(&planned, |p| {
            print!("{}", clean_lines(p["text"].as_str().unwrap_or("")));
            if p["applied"].as_bool() == Some(true) {
                println!("Applied.");
            } else if dry_run && p["changes"].as_array().is_some_and(|c| !c.is_empty()) {
                println!("Nothing changed (--dry-run).");
            }
        });
        Ok(())
    }

    /// A folder's files read and checked as one document (references may name what the
    /// server has, unless it is to be pruned), as one YAML text.
    async fn folder(&self, dir: &Path, prune: bool) -> anyhow::Result<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml")
                    })
            })
            .collect();
        paths.sort();
        if paths.is_empty() {
            bail!("{} holds no .yaml or .yml file", dir.display());
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in &paths {
            files.push((path.display().to_string(), read_document(path)?));
        }
        let known = if prune {
            Known::default()
        } else {
            let current = self.exported(false).await?;
            let current = config_doc::parse_only(&current)
                .map_err(|e| anyhow::anyhow!("the server's export cannot be read: {e:?}"))?;
            Known::of(&current)
        };
        match config_doc::read_files(&files, &known) {
            Ok(doc) => config_doc::to_yaml(&doc).map_err(anyhow::Error::msg),
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(|e| clean(&e.to_string())).collect();
                bail!("{} cannot be applied:\n{}", dir.display(), lines.join("\n"))
            }
        }
    }
}

/// Writes a file; one holding keys is readable by its owner only.
fn write_private(file: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut handle = options
        .open(file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    std::io::Write::write_all(&mut handle, text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))
}

/// The document with only one kind's list.
fn only(doc: &ConfigDoc, kind: &str) -> ConfigDoc {
    let mut one = ConfigDoc {
        version: doc.version,
        ..ConfigDoc::default()
    };
    match kind {
        "users" => one.users = doc.users.clone(),
        "teams" => one.teams = doc.teams.clone(),
        "schedules" => one.schedules = doc.schedules.clone(),
        "escalation_policies" => one.escalation_policies = doc.escalation_policies.clone(),
        "services" => one.services = doc.services.clone(),
        "status_pages" => one.status_pages = doc.status_pages.clone(),
        _ => one.maintenance_windows = doc.maintenance_windows.clone(),
    }
    one
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
