//! The group-commit writer: one task owns event ingestion. Requests hand it their event
//! and wait; it applies whatever is queued in one transaction, commits, then answers
//! every waiting request. A sender hears "accepted" only after its event is durable.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::metrics as m;
use crate::{Store, StoreError};
use onduty_core::batch::{ItemResult, Received};

#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Most events applied in one transaction.
    pub max_batch: usize,
    /// Events that may wait for the writer before submitters wait to enqueue.
    pub queue: usize,
    /// Under load, how long a batch may wait for the senders that were answered by the
    /// previous commit to send again, so that one commit serves them all (like
    /// PostgreSQL's `commit_delay`). Zero never waits.
    pub linger: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_batch: 512,
            queue: 8192,
            linger: Duration::from_millis(1),
        }
    }
}

struct Job {
    item: Received,
    reply: oneshot::Sender<Result<ItemResult, StoreError>>,
}

/// A handle for submitting events. Cheap to clone; the writer stops when every handle
/// is dropped and the queue is empty.
#[derive(Clone)]
pub struct IngestWriter {
    tx: mpsc::Sender<Job>,
}

impl IngestWriter {
    /// Starts the writer on a thread of its own (with its own single-threaded runtime),
    /// so that its many short waits on the database are not queued behind HTTP work.
    /// The returned task ends when the writer has stopped.
    pub fn spawn(store: Store, options: WriterOptions) -> (IngestWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let (done_tx, done_rx) = oneshot::channel();
        let max_batch = options.max_batch.max(1);
        let linger = options.linger;
        std::thread::Builder::new()
            .name("onduty-ingest".to_owned())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(run(store, rx, max_batch, linger)),
                    Err(e) => tracing::error!(error = %e, "cannot start the ingest writer"),
                }
                let _ = done_tx.send(());
            })
            .expect("the ingest writer thread starts");
        let task = tokio::spawn(async move {
            let _ = done_rx.await;
        });
        (IngestWriter { tx }, task)
    }

    /// Queues one event and waits until it is committed (or refused).
    pub async fn submit(&self, item: Received) -> Result<ItemResult, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { item, reply })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// True while the writer task is running.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Batches below this size never linger: the load is light and latency matters more.
const LINGER_FROM: usize = 8;

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize, linger: Duration) {
    let mut jobs = Vec::with_capacity(max_batch);
    let mut previous = 0;
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        // Many senders were answered by the last commit and are sending again: give the
        // rest of them a moment to arrive rather than commit for the first few alone.
        if previous >= LINGER_FROM && jobs.len() < previous && !linger.is_zero() {
            let wait = tokio::time::timeout(linger, async {
                while jobs.len() < previous.min(max_batch) {
                    let room = max_batch - jobs.len();
                    if rx.recv_many(&mut jobs, room).await == 0 {
                        break;
                    }
                }
            });
            let _ = wait.await;
        }
        previous = jobs.len();
        write_batch(&store, std::mem::take(&mut jobs)).await;
    }
    tracing::debug!("ingest writer stopped: no more submitters");
}

/// Applies a batch and answers each job. If the batch fails as a whole, each event is
/// applied alone, so that one bad event cannot fail the others.
async fn write_batch(store: &Store, jobs: Vec<Job>) {
    let (items, replies): (Vec<Received>, Vec<_>) =
        jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
    let started = std::time::Instant::now();
    match store.ingest_batch(&items).await {
        Ok(results) => {
            metrics::histogram!(m::INGEST_BATCH_SIZE).record(items.len() as f64);
            metrics::histogram!(m::INGEST_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
            count(&results);
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) if items.len() == 1 => {
            tracing::error!(error = %e, "could not store an event");
            let _ = replies.into_iter().next().map(|r| r.send(Err(e)));
        }
        Err(e) if e.is_unavailable() => {
            // The database, not an event, failed: tell every sender to retry.
            tracing::error!(error = %e, events = items.len(), "could not store a batch of events");
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, events = items.len(), "batch failed; applying its events one by one");
            for (item, reply) in items.into_iter().zip(replies) {
                let result = store.ingest_batch(std::slice::from_ref(&item)).await;
                let result = result.map(|mut r| r.pop().expect("one result per event"));
                match &result {
                    Ok(result) => count(std::slice::from_ref(result)),
                    Err(e) => tracing::error!(error = %e, "could not store an event"),
                }
                let _ = reply.send(result);
            }
        }
    }
}

/// Counts applied events by their outcome, or by why they were refused: one increment
/// per outcome per batch, not per event.
fn count(results: &[ItemResult]) {
    let mut counts: Vec<(&'static str, u64)> = Vec::new();
    for result in results {
        let outcome = match result {
            Ok(accepted) => accepted.outcome.as_str(),
            Err(rejected) => rejected.as_str(),
        };
        match counts.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((outcome, 1)),
        }
    }
    for (outcome, n) in counts {
        metrics::counter!(m::INGEST_EVENTS, "outcome" => outcome).increment(n);
    }
}
