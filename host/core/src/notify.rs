//! Operator notifications (halts, resumes, position mismatches): always to the log, and
//! optionally to a webhook.
//!
//! Notifying never blocks a decision: the webhook sink hands each alert to its own thread,
//! which POSTs it as JSON with a timeout; a failed delivery is logged, never retried in the
//! hot path.

use std::{
    sync::{Arc, Mutex, PoisonError, mpsc},
    time::Duration,
};

use serde::Serialize;

/// One alert for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// What happened: `halted`, `resumed`, `reducing`, `position-mismatch`, ...
    pub kind: String,
    /// What it concerns: `all` or a plugin name.
    pub subject: String,
    pub message: String,
    /// Who caused it: an operator, `risk-gate`, `host`.
    pub actor: String,
    /// Event time (ns) when it happened inside a run, if any.
    pub event_ts: Option<u64>,
}

/// Somewhere alerts go.
pub trait Notifier: Send + Sync {
    fn notify(&self, alert: &Alert);
}

/// Writes alerts to the log (`warn`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify(&self, alert: &Alert) {
        tracing::warn!(
            kind = %alert.kind,
            subject = %alert.subject,
            actor = %alert.actor,
            event_ts = ?alert.event_ts,
            "{}",
            alert.message
        );
    }
}

/// Keeps alerts in memory (tests, backtest reports).
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    alerts: Mutex<Vec<Alert>>,
}

impl MemoryNotifier {
    /// Every alert so far.
    #[must_use]
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Notifier for MemoryNotifier {
    fn notify(&self, alert: &Alert) {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(alert.clone());
    }
}

/// POSTs each alert as JSON to a URL from a background thread.
pub struct WebhookNotifier {
    url: String,
    tx: Mutex<Option<mpsc::Sender<Alert>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A sink posting to `url` (`http://` or `https://`), each request bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let parsed: ureq::http::Uri = url
            .parse()
            .map_err(|e| format!("webhook url `{url}`: {e}"))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(format!(
                "webhook url `{url}`: expected http:// or https:// with a host"
            ));
        }
        let (tx, rx) = mpsc::channel::<Alert>();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(true)
            .build()
            .into();
        let target = url.to_string();
        let worker = std::thread::Builder::new()
            .name("stratbox-webhook".to_string())
            .spawn(move || {
                for alert in rx {
                    if let Err(e) = agent.post(&target).send_json(&alert) {
                        tracing::error!(url = %target, kind = %alert.kind, "webhook delivery failed: {e}");
                    }
                }
            })
            .map_err(|e| format!("cannot start the webhook thread: {e}"))?;
        Ok(Self {
            url: url.to_string(),
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Delivers what is queued, then stops the thread.
    pub fn close(&self) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(worker) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = worker.join();
        }
    }
}

impl Drop for WebhookNotifier {
    fn drop(&mut self) {
        self.close();
    }
}

impl Notifier for WebhookNotifier {
    fn notify(&self, alert: &Alert) {
        if let Some(tx) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && tx.send(alert.clone()).is_err()
        {
            tracing::error!(url = %self.url, "webhook thread has stopped; alert not sent");
        }
    }
}

/// Sends each alert to every sink.
#[derive(Clone, Default)]
pub struct Notifiers(pub Vec<Arc<dyn Notifier>>);

impl std::fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notifiers({})", self.0.len())
    }
}

impl Notifiers {
    /// The log only.
    #[must_use]
    pub fn log() -> Self {
        Self(vec![Arc::new(LogNotifier)])
    }

    /// Adds a sink.
    #[must_use]
    pub fn with(mut self, sink: Arc<dyn Notifier>) -> Self {
        self.0.push(sink);
        self
    }
}

impl Notifier for Notifiers {
    fn notify(&self, alert: &Alert) {
        for sink in &self.0 {
            sink.notify(alert);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader, Read, Write},
        net::TcpListener,
    };

    use super::*;

    fn alert() -> Alert {
        Alert {
            kind: "halted".to_string(),
            subject: "ema-cross".to_string(),
            message: "drawdown 25000 above 20000".to_string(),
            actor: "risk-gate".to_string(),
            event_ts: Some(7),
        }
    }

    /// Accepts one HTTP request on loopback and returns its body.
    fn serve_once(listener: &TcpListener) -> String {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    }

    #[test]
    fn webhook_posts_the_alert_as_json() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/alerts", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || serve_once(&listener));
        let hook = WebhookNotifier::new(&url, Duration::from_secs(5)).unwrap();
        hook.notify(&alert());
        hook.close();
        let body: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
        assert_eq!(body["kind"], "halted");
        assert_eq!(body["subject"], "ema-cross");
        assert_eq!(body["event_ts"], 7);
    }

    #[test]
    fn a_dead_webhook_does_not_block_or_panic() {
        // Nothing listens on this port once the listener is dropped.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hook =
            WebhookNotifier::new(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2))
                .unwrap();
        hook.notify(&alert());
        hook.close();
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(WebhookNotifier::new("ftp://x/", Duration::from_secs(1)).is_err());
        assert!(WebhookNotifier::new("not a url", Duration::from_secs(1)).is_err());
    }
}
