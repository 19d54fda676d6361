//! The replay feed: a Nautilus `DataClient` that plays recorded market data (and signals)
//! into a `LiveNode` the way a venue's feed would, on wall-clock time scaled by a speed
//! factor, or as fast as the node takes it.
//!
//! The client is the node's default data client, so every subscription routes to it. On
//! connect it hands the node its instruments; the events themselves come from a pacer thread
//! that starts only once the node says its trader is running (so every strategy's
//! `on_start` subscriptions are in place, whatever it subscribes to). After the last event
//! the pacer sends an end marker (custom data of type [`END_TYPE`]) through the same
//! channel, so whoever listens for it knows that every earlier event has been processed.

use std::{
    any::Any,
    cell::RefCell,
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use nautilus_common::{
    cache::CacheView,
    clients::DataClient,
    clock::Clock,
    factories::{ClientConfig, DataClientFactory},
    live::runner::get_data_event_sender,
    messages::{
        DataEvent,
        data::{
            SubscribeBars, SubscribeCustomData, SubscribeQuotes, SubscribeTrades, UnsubscribeBars,
            UnsubscribeCustomData, UnsubscribeQuotes, UnsubscribeTrades,
        },
    },
};
use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{CustomData, CustomDataTrait, Data, DataType, HasTsInit},
    identifiers::{ClientId, Venue},
    instruments::InstrumentAny,
};

use crate::nautilus::paper::Speed;

/// The Nautilus data type of the end marker.
pub const END_TYPE: &str = "StratboxReplayEnd";

/// Longest single sleep of the pacer, so a stop is noticed quickly.
const NAP: Duration = Duration::from_millis(20);

/// The data type the end marker is published under.
#[must_use]
pub fn end_data_type() -> DataType {
    DataType::new(END_TYPE, None, None)
}

/// The end marker: the replay has handed over its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayEnd {
    ts: UnixNanos,
}

impl HasTsInit for ReplayEnd {
    fn ts_init(&self) -> UnixNanos {
        self.ts
    }
}

impl CustomDataTrait for ReplayEnd {
    fn type_name(&self) -> &'static str {
        END_TYPE
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ts_event(&self) -> UnixNanos {
        self.ts
    }

    fn to_json(&self) -> anyhow::Result<String> {
        Ok(format!("{{\"ts\":{}}}", self.ts.as_u64()))
    }

    fn clone_arc(&self) -> Arc<dyn CustomDataTrait> {
        Arc::new(self.clone())
    }

    fn eq_arc(&self, other: &dyn CustomDataTrait) -> bool {
        other
            .as_any()
            .downcast_ref::<Self>()
            .is_some_and(|o| o == self)
    }
}

/// Figures of a replay, readable from any thread.
#[derive(Debug, Default)]
pub struct FeedState {
    /// Set by the node's side once the trader runs: the pacer may start.
    pub go: AtomicBool,
    /// Set to make the pacer stop early (the node is stopping).
    pub stop: AtomicBool,
    /// Events handed to the node so far.
    pub sent: AtomicU64,
    /// Recorded time of the last event handed over.
    pub sim_ts: AtomicU64,
    /// The pacer handed over everything (and the end marker).
    pub done: AtomicBool,
}

/// What the factory builds the client from. The data is taken by the one client built.
pub struct ReplayFeedConfig {
    pub instruments: Vec<InstrumentAny>,
    data: RefCell<Option<Vec<Data>>>,
    pub speed: Speed,
    pub state: Arc<FeedState>,
}

impl ReplayFeedConfig {
    /// A feed of `data` (sorted by `ts_init`) for `instruments`.
    #[must_use]
    pub fn new(
        instruments: Vec<InstrumentAny>,
        data: Vec<Data>,
        speed: Speed,
        state: Arc<FeedState>,
    ) -> Self {
        Self {
            instruments,
            data: RefCell::new(Some(data)),
            speed,
            state,
        }
    }
}

impl fmt::Debug for ReplayFeedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayFeedConfig")
            .field("instruments", &self.instruments.len())
            .field("events", &self.data.borrow().as_ref().map_or(0, Vec::len))
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl ClientConfig for ReplayFeedConfig {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Builds the [`ReplayFeed`] client for a `LiveNodeBuilder`.
#[derive(Debug, Default)]
pub struct ReplayFeedFactory;

impl DataClientFactory for ReplayFeedFactory {
    fn create(
        &self,
        name: &str,
        config: &dyn ClientConfig,
        _cache: CacheView,
        _clock: std::rc::Rc<RefCell<dyn Clock>>,
    ) -> anyhow::Result<Box<dyn DataClient>> {
        let config = config
            .as_any()
            .downcast_ref::<ReplayFeedConfig>()
            .ok_or_else(|| anyhow::anyhow!("the replay feed needs a ReplayFeedConfig"))?;
        let data = config
            .data
            .borrow_mut()
            .take()
            .ok_or_else(|| anyhow::anyhow!("the replay feed's data was already taken"))?;
        Ok(Box::new(ReplayFeed {
            client_id: ClientId::new(name),
            instruments: config.instruments.clone(),
            data: Some(data),
            speed: config.speed,
            state: Arc::clone(&config.state),
            connected: false,
            pacer: None,
        }))
    }

    fn name(&self) -> &'static str {
        "REPLAY"
    }

    fn config_type(&self) -> &'static str {
        "ReplayFeedConfig"
    }
}

/// The replay data client.
pub struct ReplayFeed {
    client_id: ClientId,
    instruments: Vec<InstrumentAny>,
    data: Option<Vec<Data>>,
    speed: Speed,
    state: Arc<FeedState>,
    connected: bool,
    pacer: Option<JoinHandle<()>>,
}

impl fmt::Debug for ReplayFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayFeed")
            .field("client_id", &self.client_id)
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl ReplayFeed {
    fn halt_pacer(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        if let Some(pacer) = self.pacer.take()
            && pacer.join().is_err()
        {
            tracing::error!("the replay pacer thread panicked");
        }
    }
}

/// Hands `data` to the node at its recorded pace divided by `speed`, waiting for `go`.
fn pace(
    data: Vec<Data>,
    speed: Speed,
    state: &FeedState,
    sender: &tokio::sync::mpsc::UnboundedSender<DataEvent>,
) {
    while !state.go.load(Ordering::Acquire) {
        if state.stop.load(Ordering::Acquire) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let first_ts = data.first().map_or(0, |d| d.ts_init().as_u64());
    let mut last_ts = first_ts;
    let started = Instant::now();
    for d in data {
        let ts = d.ts_init().as_u64();
        if let Speed::Factor(f) = speed {
            let due = Duration::from_secs_f64(ts.saturating_sub(first_ts) as f64 / 1e9 / f);
            loop {
                if state.stop.load(Ordering::Acquire) {
                    return;
                }
                let elapsed = started.elapsed();
                if elapsed >= due {
                    break;
                }
                std::thread::sleep((due - elapsed).min(NAP));
            }
        } else if state.stop.load(Ordering::Relaxed) {
            return;
        }
        if sender.send(DataEvent::Data(d)).is_err() {
            return;
        }
        last_ts = ts;
        state.sent.fetch_add(1, Ordering::Relaxed);
        state.sim_ts.store(ts, Ordering::Relaxed);
    }
    let end = Data::Custom(CustomData::new(
        Arc::new(ReplayEnd {
            ts: UnixNanos::from(last_ts),
        }),
        end_data_type(),
    ));
    let _ = sender.send(DataEvent::Data(end));
    state.done.store(true, Ordering::Release);
}

#[async_trait::async_trait(?Send)]
impl DataClient for ReplayFeed {
    fn client_id(&self) -> ClientId {
        self.client_id
    }

    /// No venue: the node's default client, so every subscription reaches it.
    fn venue(&self) -> Option<Venue> {
        None
    }

    fn start(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        self.halt_pacer();
        Ok(())
    }

    fn reset(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    fn dispose(&mut self) -> anyhow::Result<()> {
        self.halt_pacer();
        Ok(())
    }

    fn is_connected(&self) -> bool {
        self.connected
    }

    fn is_disconnected(&self) -> bool {
        !self.connected
    }

    async fn connect(&mut self) -> anyhow::Result<()> {
        if self.connected {
            return Ok(());
        }
        let sender = get_data_event_sender();
        for instrument in &self.instruments {
            sender
                .send(DataEvent::Instrument(instrument.clone()))
                .map_err(|_| anyhow::anyhow!("the node's data channel is closed"))?;
        }
        if let Some(data) = self.data.take() {
            let state = Arc::clone(&self.state);
            let speed = self.speed;
            self.pacer = Some(
                std::thread::Builder::new()
                    .name("replay-feed".into())
                    .spawn(move || pace(data, speed, &state, &sender))?,
            );
        }
        self.connected = true;
        Ok(())
    }

    async fn disconnect(&mut self) -> anyhow::Result<()> {
        self.halt_pacer();
        self.connected = false;
        Ok(())
    }

    // Every event is played whatever is subscribed (a venue's feed of the recorded
    // instruments); the node's data engine delivers each to its subscribers.
    fn subscribe(&mut self, _cmd: SubscribeCustomData) -> anyhow::Result<()> {
        Ok(())
    }

    fn subscribe_quotes(&mut self, _cmd: SubscribeQuotes) -> anyhow::Result<()> {
        Ok(())
    }

    fn subscribe_trades(&mut self, _cmd: SubscribeTrades) -> anyhow::Result<()> {
        Ok(())
    }

    fn subscribe_bars(&mut self, _cmd: SubscribeBars) -> anyhow::Result<()> {
        Ok(())
    }

    fn unsubscribe(&mut self, _cmd: &UnsubscribeCustomData) -> anyhow::Result<()> {
        Ok(())
    }

    fn unsubscribe_quotes(&mut self, _cmd: &UnsubscribeQuotes) -> anyhow::Result<()> {
        Ok(())
    }

    fn unsubscribe_trades(&mut self, _cmd: &UnsubscribeTrades) -> anyhow::Result<()> {
        Ok(())
    }

    fn unsubscribe_bars(&mut self, _cmd: &UnsubscribeBars) -> anyhow::Result<()> {
        Ok(())
    }
}
