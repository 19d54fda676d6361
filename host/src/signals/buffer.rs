//! The bounded ingest buffer in front of the store: the library API that `stratbox signals
//! ingest` uses and the HTTP endpoint will use.
//!
//! Room is counted in signals. [`SignalBuffer::submit`] waits for room (backpressure);
//! [`SignalBuffer::try_submit`] refuses at once with [`BufferError::Full`] so an endpoint
//! can answer "retry later" instead of queueing without bound. One writer task takes
//! whatever is queued, stores it in one transaction (group commit) and only then answers
//! each sender with its acknowledgements and publishes the newest `seq` for delivery.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

use super::store::{Ack, Incoming, SignalStore};

/// Signals stored per transaction at most.
pub const MAX_GROUP: usize = 4_096;

/// Submitting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufferError {
    #[error("the signal buffer is full ({capacity} signals waiting to be stored); retry later")]
    Full { capacity: usize },
    #[error("a batch of {size} signals is larger than the buffer ({capacity}); split it")]
    TooLarge { size: usize, capacity: usize },
    #[error("the signal buffer is shut down")]
    Closed,
    #[error("storing failed, nothing in this batch was acknowledged: {0}")]
    Store(String),
}

struct Request {
    items: Vec<Incoming>,
    _room: OwnedSemaphorePermit,
    reply: oneshot::Sender<Result<Vec<Ack>, String>>,
}

/// A handle to the buffer; clone it freely.
#[derive(Debug, Clone)]
pub struct SignalBuffer {
    tx: mpsc::UnboundedSender<Request>,
    room: Arc<Semaphore>,
    capacity: usize,
    committed: watch::Receiver<i64>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// A submitted batch: await it for its acknowledgements.
#[derive(Debug)]
pub struct Pending(oneshot::Receiver<Result<Vec<Ack>, String>>);

impl Pending {
    /// The acknowledgements, once the batch committed.
    pub async fn acks(self) -> Result<Vec<Ack>, BufferError> {
        match self.0.await {
            Ok(Ok(acks)) => Ok(acks),
            Ok(Err(e)) => Err(BufferError::Store(e)),
            Err(_) => Err(BufferError::Closed),
        }
    }
}

impl SignalBuffer {
    /// Starts the writer task on the current tokio runtime. `clock` gives the wall time
    /// (UNIX ns) recorded with each signal.
    pub fn start(
        store: SignalStore,
        capacity: usize,
        clock: fn() -> u64,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::unbounded_channel();
        let last = watch::channel(0);
        let handle = tokio::spawn(writer(store, rx, last.0, clock));
        (
            Self {
                tx,
                room: Arc::new(Semaphore::new(capacity)),
                capacity,
                committed: last.1,
            },
            handle,
        )
    }

    /// The newest committed `seq`; changes whenever a batch with new signals commits.
    #[must_use]
    pub fn committed(&self) -> watch::Receiver<i64> {
        self.committed.clone()
    }

    /// Signals that can be queued right now.
    #[must_use]
    pub fn room(&self) -> usize {
        self.room.available_permits()
    }

    fn size(&self, items: &[Incoming]) -> Result<u32, BufferError> {
        if items.len() > self.capacity {
            return Err(BufferError::TooLarge {
                size: items.len(),
                capacity: self.capacity,
            });
        }
        u32::try_from(items.len()).map_err(|_| BufferError::TooLarge {
            size: items.len(),
            capacity: self.capacity,
        })
    }

    fn send(
        &self,
        items: Vec<Incoming>,
        room: OwnedSemaphorePermit,
    ) -> Result<Pending, BufferError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                items,
                _room: room,
                reply,
            })
            .map_err(|_| BufferError::Closed)?;
        Ok(Pending(rx))
    }

    /// Queues `items`, waiting for room while the buffer is full.
    pub async fn enqueue(&self, items: Vec<Incoming>) -> Result<Pending, BufferError> {
        let n = self.size(&items)?;
        let room = Arc::clone(&self.room)
            .acquire_many_owned(n)
            .await
            .map_err(|_| BufferError::Closed)?;
        self.send(items, room)
    }

    /// Queues `items` and waits for their acknowledgements.
    pub async fn submit(&self, items: Vec<Incoming>) -> Result<Vec<Ack>, BufferError> {
        self.enqueue(items).await?.acks().await
    }

    /// Queues `items` only if there is room now.
    pub fn try_submit(&self, items: Vec<Incoming>) -> Result<Pending, BufferError> {
        let n = self.size(&items)?;
        let room = Arc::clone(&self.room)
            .try_acquire_many_owned(n)
            .map_err(|_| BufferError::Full {
                capacity: self.capacity,
            })?;
        self.send(items, room)
    }
}

async fn writer(
    store: SignalStore,
    mut rx: mpsc::UnboundedReceiver<Request>,
    last: watch::Sender<i64>,
    clock: fn() -> u64,
) {
    let mut group: Vec<Request> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut n = first.items.len();
        group.push(first);
        while n < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => {
                    n += r.items.len();
                    group.push(r);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = group.iter().map(|r| r.items.len()).collect();
        let all: Vec<Incoming> = group
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.items))
            .collect();
        match store.append(&all, clock()).await {
            Ok(acks) => {
                let newest = acks
                    .iter()
                    .filter_map(|a| match a {
                        Ack::Stored { seq } => Some(*seq),
                        _ => None,
                    })
                    .max();
                let mut acks = acks.into_iter();
                for (r, n) in group.drain(..).zip(sizes) {
                    let mine: Vec<Ack> = acks.by_ref().take(n).collect();
                    let _ = r.reply.send(Ok(mine));
                }
                if let Some(seq) = newest {
                    last.send_replace(seq);
                }
            }
            Err(e) => {
                tracing::error!("signal store: {e}");
                let msg = e.to_string();
                for r in group.drain(..) {
                    let _ = r.reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
