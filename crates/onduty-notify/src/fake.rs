//! A notifier for tests: it records every message and fails when told to.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::{Notifier, NotifyError, Outgoing, SendFuture, Sent};

#[derive(Default)]
pub struct FakeNotifier {
    sent: Mutex<Vec<Outgoing>>,
    /// Results to give, in order, before succeeding again.
    scripted: Mutex<VecDeque<NotifyError>>,
}

impl FakeNotifier {
    pub fn new() -> Self {
        FakeNotifier::default()
    }

    /// The next sends fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = NotifyError>) {
        self.scripted.lock().expect("not poisoned").extend(errors);
    }

    /// Everything sent so far (failed attempts are not listed).
    pub fn sent(&self) -> Vec<Outgoing> {
        self.sent.lock().expect("not poisoned").clone()
    }

    /// Takes the messages sent so far, leaving none.
    pub fn take(&self) -> Vec<Outgoing> {
        std::mem::take(&mut *self.sent.lock().expect("not poisoned"))
    }
}

impl Notifier for FakeNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            if let Some(error) = self.scripted.lock().expect("not poisoned").pop_front() {
                return Err(error);
            }
            self.sent
                .lock()
                .expect("not poisoned")
                .push(message.clone());
            Ok(Sent {
                provider_ref: Some(format!("fake-{}", message.idempotency_key)),
                ..Sent::default()
            })
        })
    }
}
