//! `onduty backup FILE` and `onduty restore FILE`, for the embedded SQLite database.
//!
//! A backup is written beside its destination under a temporary name (readable by its
//! owner only), synced, read back (SQLite's integrity check, onduty's tables), and only
//! then given its name: a full disk or a crash never leaves a half-written file under the
//! name asked for. A restore takes the data directory's lock (which `onduty serve` holds
//! while it runs), copies the backup in first, then keeps the database it replaces
//! (renamed, with its write-ahead log folded in) and puts the copy in its place.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onduty_core::{Clock, SystemClock};
use onduty_store::backup::{BackupSummary, inspect};

use crate::config::Config;

pub async fn backup(config: &Config, file: &Path) -> anyhow::Result<()> {
    sqlite_only(config)?;
    if file.exists() {
        bail!(
            "{} already exists: a backup is never written over a file",
            file.display()
        );
    }
    let store = connect(config).await?;
    let partial = partial_name(file)?;
    let started = SystemClock.now();
    let written = store.backup_into(&partial).await;
    store.close().await;
    let summary = match written {
        Ok(()) => settle(&partial, file).await,
        Err(e) => Err(anyhow::Error::from(e)),
    };
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("the backup to {} failed", file.display())));
        }
    };
    println!(
        "Backed up {} to {} as of {} ({}; {} incidents, {} people).",
        config.database_display(),
        file.display(),
        started.to_rfc3339(),
        size_of(file),
        summary.incidents,
        summary.users
    );
    Ok(())
}

pub async fn restore(config: &Config, file: &Path) -> anyhow::Result<()> {
    sqlite_only(config)?;
    let summary = inspect(file)
        .await
        .with_context(|| format!("{} cannot be restored", file.display()))?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    // Held until the restore is done: `onduty serve` cannot start meanwhile.
    let _lock = lock_data_dir(&config.data_dir).context("stop onduty before restoring")?;
    let database = config.data_dir.join("onduty.db");
    // The copy is made and synced before anything is moved: a full disk fails here and
    // leaves the database as it was.
    let partial = partial_name(&database)?;
    if let Err(e) = copy_private(file, &partial, &config.data_dir) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let kept = if database.exists() {
        match set_aside(config, &database).await {
            Ok(kept) => Some(kept),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        }
    } else {
        // A log left beside no database would be replayed onto the restored one.
        remove_log(&database);
        None
    };
    if let Err(e) = std::fs::rename(&partial, &database) {
        if let Some(kept) = &kept {
            let _ = std::fs::rename(kept, &database);
        }
        let _ = std::fs::remove_file(&partial);
        return Err(e).with_context(|| {
            format!(
                "cannot move the restored database to {}",
                database.display()
            )
        });
    }
    sync_directory(&database)?;
    println!(
        "Restored {} into {} ({} incidents, {} people).",
        file.display(),
        database.display(),
        summary.incidents,
        summary.users
    );
    if let Some(kept) = kept {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    println!("Start onduty: a backup from an older version is migrated on start.");
    Ok(())
}

/// Copies `from` to `to`, readable by its owner only, owned as `dir` is (a restore run
/// as root for a service's own user), and synced.
fn copy_private(from: &Path, to: &Path, dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut source =
        std::fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    std::io::copy(&mut source, &mut target)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    target
        .sync_all()
        .with_context(|| format!("cannot sync {}", to.display()))?;
    if let Ok(owner) = std::fs::metadata(dir) {
        let _ = std::os::unix::fs::chown(to, Some(owner.uid()), Some(owner.gid()));
    }
    Ok(())
}

/// Removes the write-ahead log files beside `database`.
fn remove_log(database: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}

/// The existing database, as it is: no migration (a running onduty of another version may
/// have it open), and none made if there is none.
async fn connect(config: &Config) -> anyhow::Result<onduty_store::Store> {
    let database = config.data_dir.join("onduty.db");
    if !database.is_file() {
        bail!("there is no onduty database at {}", database.display());
    }
    let options = onduty_store::StoreOptions::default();
    onduty_store::Store::connect(&config.database_url(), &options)
        .await
        .with_context(|| format!("cannot open {}", config.database_display()))
}

fn sqlite_only(config: &Config) -> anyhow::Result<()> {
    if !config.uses_embedded_sqlite() {
        bail!(
            "onduty backup and restore work on the embedded SQLite database; this onduty uses \
             {}. Back PostgreSQL up with pg_dump and restore with pg_restore (see the README)",
            config.database_display()
        );
    }
    Ok(())
}

/// Where a file is written before it gets `file`'s name: beside it, so that the last
/// step is a rename on one file system.
fn partial_name(file: &Path) -> anyhow::Result<PathBuf> {
    let name = file
        .file_name()
        .with_context(|| format!("{} names no file", file.display()))?;
    let mut partial = name.to_os_string();
    partial.push(format!(".partial-{}", std::process::id()));
    Ok(file.with_file_name(partial))
}

/// Syncs a written copy, reads it back, and gives it its name (a link, which fails
/// rather than replace a file made there meanwhile).
async fn settle(partial: &Path, file: &Path) -> anyhow::Result<BackupSummary> {
    sync(partial)?;
    let summary = inspect(partial).await?;
    std::fs::hard_link(partial, file)
        .with_context(|| format!("cannot name the backup {}", file.display()))?;
    let _ = std::fs::remove_file(partial);
    sync_directory(file)?;
    Ok(summary)
}

/// The lock `onduty serve` holds on its data directory for as long as it runs; restore
/// takes it too, so neither runs while the other does.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join("onduty.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    if locked != 0 {
        bail!(
            "another onduty is running on the data directory {} (it holds {})",
            dir.display(),
            path.display()
        );
    }
    Ok(file)
}

/// Folds the write-ahead log into the database (refusing if onduty runs on it) and
/// renames it `onduty.db.before-restore-<time>`.
async fn set_aside(config: &Config, database: &Path) -> anyhow::Result<PathBuf> {
    let store = connect(config).await?;
    let now = SystemClock.now();
    let running = match store.lease_holder().await? {
        Some((holder, until)) if until > now => Some(holder),
        _ => None,
    };
    let checkpointed = match running {
        Some(holder) => Err(anyhow::anyhow!(
            "onduty is running on {} ({holder} holds the engine lease): stop it before restoring",
            database.display()
        )),
        None => store.checkpoint_all().await.map_err(anyhow::Error::from),
    };
    store.close().await;
    checkpointed?;
    let stamp = now.to_rfc3339().replace(':', "-");
    let kept = database.with_file_name(format!("onduty.db.before-restore-{stamp}"));
    std::fs::rename(database, &kept)
        .with_context(|| format!("cannot move {} aside", database.display()))?;
    // The log was emptied into the file: what is left of it belongs to no database now.
    remove_log(database);
    Ok(kept)
}

fn sync(file: &Path) -> anyhow::Result<()> {
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", file.display()))
}

/// Makes a rename in `file`'s directory durable.
fn sync_directory(file: &Path) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

fn size_of(file: &Path) -> String {
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}
