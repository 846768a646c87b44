//! The group-commit writer: one task owns event ingestion. Requests hand it their event
//! and wait; it applies whatever is queued in one transaction, commits, then answers
//! every waiting request. A sender hears "accepted" only after its event is durable.

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::ingest::{ItemResult, Received};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Most events applied in one transaction.
    pub max_batch: usize,
    /// Events that may wait for the writer before submitters wait to enqueue.
    pub queue: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_batch: 512,
            queue: 8192,
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
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(store: Store, options: WriterOptions) -> (IngestWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let task = tokio::spawn(run(store, rx, options.max_batch.max(1)));
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

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut jobs = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        write_batch(&store, std::mem::take(&mut jobs)).await;
    }
    tracing::debug!("ingest writer stopped: no more submitters");
}

/// Applies a batch and answers each job. If the batch fails as a whole, each event is
/// applied alone, so that one bad event cannot fail the others.
async fn write_batch(store: &Store, jobs: Vec<Job>) {
    let (items, replies): (Vec<Received>, Vec<_>) =
        jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
    match store.ingest_batch(&items).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) if items.len() == 1 => {
            tracing::error!(error = %e, "could not store an event");
            let _ = replies.into_iter().next().map(|r| r.send(Err(e)));
        }
        Err(e) => {
            tracing::warn!(error = %e, events = items.len(), "batch failed; applying its events one by one");
            for (item, reply) in items.into_iter().zip(replies) {
                let result = store.ingest_batch(std::slice::from_ref(&item)).await;
                let result = result.map(|mut r| r.pop().expect("one result per event"));
                if let Err(e) = &result {
                    tracing::error!(error = %e, "could not store an event");
                }
                let _ = reply.send(result);
            }
        }
    }
}
