//! `stratbox translate --watch`: follow a folder or an HTTP registry of definitions and
//! keep the translations in step.
//!
//! Each poll reads every definition; one whose text changed since the last accepted
//! translation (by SHA-256) is translated, built and validated again. When a host service
//! is named, the new component is uploaded and every running deployment of that plugin is
//! hot-swapped to it; the service keeps the old version running when a swap is refused or
//! rolls back. A failure never stops the watch: it is reported, the last good translation
//! stays, and the next change is tried again.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Options, TranslateError, translate_text};
use crate::storage;

/// Where definitions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every `*.json` file of a folder.
    Dir(PathBuf),
    /// An HTTP registry: `GET url` answers a JSON array of definition links (strings, or
    /// objects with a `url`), absolute or relative to the registry's origin; each link
    /// answers one definition document.
    Url(String),
}

impl Source {
    /// A folder path, or a URL when it starts with `http://` or `https://`.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Self::Url(s.to_string())
        } else {
            Self::Dir(PathBuf::from(s))
        }
    }
}

/// A host service to hot-swap running deployments on.
#[derive(Debug, Clone)]
pub struct Service {
    pub server: String,
    /// Lists deployments and swaps them: an operator (or admin) token.
    pub token: String,
    /// Uploads components: an author (or admin) token; `None` uses `token` (an admin's).
    pub upload_token: Option<String>,
}

/// What one poll did, definition by definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Translated {
        origin: String,
        id: String,
        version: String,
        definition_sha256: String,
        component_sha256: Option<String>,
    },
    Failed {
        origin: String,
        error: String,
    },
    Swapped {
        deployment: String,
        from: String,
        to: String,
    },
    SwapFailed {
        deployment: String,
        to: String,
        error: String,
    },
    Uploaded {
        plugin: String,
        digest: String,
    },
    /// A grant covers one upload: the new component needs its own. The watch requested one
    /// with the running grant's scope; the swap happens on a later poll once an admin
    /// approved it (and is given up if it is rejected).
    GrantRequested {
        deployment: String,
        digest: String,
        grant: String,
    },
    SourceFailed {
        error: String,
    },
    /// The service could not be told how a translation went (`PUT /v1/translations`).
    ReportFailed {
        origin: String,
        error: String,
    },
}

/// What the watch remembers between polls: the SHA-256 of each origin's last text seen,
/// and swaps waiting for the approval of the grant they need (deployment → (digest, grant)).
#[derive(Debug, Default)]
pub struct State {
    seen: BTreeMap<String, String>,
    awaiting: BTreeMap<String, (String, String)>,
}

const MAX_INDEX_BYTES: u64 = 1 << 20;
const MAX_DEFINITION: u64 = stratbox_rules::definition::MAX_DEFINITION_BYTES as u64;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get_text(agent: &ureq::Agent, url: &str, limit: u64) -> Result<String, String> {
    let mut resp = agent
        .get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", resp.status().as_u16()));
    }
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()
        .map_err(|e| format!("GET {url}: {e}"))
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |i| &url[..after_scheme + i])
}

/// Every definition of a source: its origin (path or URL) and its text, or why it could
/// not be read.
type Fetched = Vec<(String, Result<String, String>)>;

/// Reads every definition of the source as (origin, text).
fn read_all(source: &Source, agent: &ureq::Agent) -> Result<Fetched, String> {
    match source {
        Source::Dir(path) => {
            let dir = storage::open_dir(path).map_err(|e| e.to_string())?;
            let mut names: Vec<String> = dir
                .entries()
                .map_err(|e| format!("listing {}: {e}", path.display()))?
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                .collect();
            names.sort();
            Ok(names
                .into_iter()
                .map(|n| {
                    let p = path.join(&n);
                    let text = storage::read_operator_file(&p, MAX_DEFINITION)
                        .map_err(|e| e.to_string())
                        .and_then(|b| {
                            String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string())
                        });
                    (p.display().to_string(), text)
                })
                .collect())
        }
        Source::Url(url) => {
            let index = get_text(agent, url, MAX_INDEX_BYTES)?;
            let links: Vec<serde_json::Value> = serde_json::from_str(&index)
                .map_err(|e| format!("{url}: the index is not a JSON array of links: {e}"))?;
            let mut out = Vec::new();
            for (i, link) in links.iter().enumerate() {
                let href = link
                    .as_str()
                    .or_else(|| link.get("url").and_then(serde_json::Value::as_str))
                    .ok_or_else(|| {
                        format!("{url}: entry {i} is neither a link nor an object with `url`")
                    })?;
                let full = if href.starts_with("http://") || href.starts_with("https://") {
                    href.to_string()
                } else {
                    format!("{}/{}", origin_of(url), href.trim_start_matches('/'))
                };
                let text = get_text(agent, &full, MAX_DEFINITION);
                out.push((full, text));
            }
            Ok(out)
        }
    }
}

/// One poll: translate what changed, swap what runs it. Returns what happened.
pub fn poll(
    state: &mut State,
    source: &Source,
    opts: &Options,
    service: Option<&Service>,
) -> Vec<Event> {
    let agent = agent();
    let mut events = Vec::new();
    if let Some(svc) = service {
        events.extend(retry_awaiting(&agent, svc, &mut state.awaiting));
    }
    let all = match read_all(source, &agent) {
        Ok(all) => all,
        Err(error) => return vec![Event::SourceFailed { error }],
    };
    for (origin, text) in all {
        let text = match text {
            Ok(t) => t,
            Err(error) => {
                if let Some(svc) = service {
                    let id = definition_id_of(None, &origin);
                    events.extend(report_status(&agent, svc, &origin, &id, None, Err(&error)));
                }
                events.push(Event::Failed { origin, error });
                continue;
            }
        };
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        if state.seen.get(&origin) == Some(&sha) {
            continue;
        }
        // Remember the text whether or not it translates: a broken definition is reported
        // once, not on every poll, and tried again when it changes.
        state.seen.insert(origin.clone(), sha);
        match translate_text(&origin, &text, opts) {
            Ok(outcome) => {
                let r = &outcome.record;
                events.push(Event::Translated {
                    origin: origin.clone(),
                    id: r.definition_id.clone(),
                    version: r.definition_version.clone(),
                    definition_sha256: r.definition_sha256.clone(),
                    component_sha256: r.component_sha256.clone(),
                });
                if let Some(svc) = service {
                    events.extend(report_status(
                        &agent,
                        svc,
                        &origin,
                        &r.definition_id,
                        Some(&r.definition_sha256),
                        Ok(r),
                    ));
                }
                if let (Some(svc), Some(bytes)) = (service, &outcome.component) {
                    events.extend(swap_running(
                        &agent,
                        svc,
                        &r.plugin,
                        bytes,
                        &mut state.awaiting,
                    ));
                }
            }
            Err(e) => {
                let error = e.to_string();
                if let Some(svc) = service {
                    let id = definition_id_of(Some(&text), &origin);
                    let sha = state.seen.get(&origin).cloned();
                    events.extend(report_status(
                        &agent,
                        svc,
                        &origin,
                        &id,
                        sha.as_ref(),
                        Err(&error),
                    ));
                }
                events.push(Event::Failed { origin, error });
            }
        }
    }
    events
}

/// The `id` a definition's text declares, else its file (or URL) name without `.json`.
fn definition_id_of(text: Option<&str>, origin: &str) -> String {
    let declared = text
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| {
            v.get("id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        })
        .filter(|id| !id.trim().is_empty() && id.len() <= 256 && !id.chars().any(char::is_control));
    declared.unwrap_or_else(|| {
        let name = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
        let stem = name.strip_suffix(".json").unwrap_or(name);
        if stem.is_empty() {
            "definition".to_string()
        } else {
            stem.chars().take(256).collect()
        }
    })
}

/// Tells the service how the translation of `origin` went (`PUT /v1/translations`, with
/// the upload token: an author's). A failure to report is an event; the watch goes on.
fn report_status(
    agent: &ureq::Agent,
    svc: &Service,
    origin: &str,
    id: &str,
    definition_sha256: Option<&String>,
    outcome: Result<&super::MappingRecord, &str>,
) -> Option<Event> {
    let body = match outcome {
        Ok(r) => serde_json::json!({
            "origin": origin, "definition_id": id, "status": "translated",
            "definition_sha256": definition_sha256, "version": r.definition_version,
            "plugin": r.plugin, "component_sha256": r.component_sha256, "error": null,
        }),
        Err(error) => serde_json::json!({
            "origin": origin, "definition_id": id, "status": "failed",
            "definition_sha256": definition_sha256, "version": null, "plugin": null,
            "component_sha256": null, "error": error,
        }),
    };
    let sent = call(
        agent,
        svc,
        "PUT",
        "/v1/translations",
        Some(("application/json", body.to_string().into_bytes())),
    );
    match sent {
        Ok((200, _)) => None,
        Ok((status, v)) => Some(Event::ReportFailed {
            origin: origin.to_string(),
            error: message(status, &v),
        }),
        Err(error) => Some(Event::ReportFailed {
            origin: origin.to_string(),
            error,
        }),
    }
}

fn call(
    agent: &ureq::Agent,
    svc: &Service,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(u16, serde_json::Value), String> {
    let url = format!("{}{path}", svc.server.trim_end_matches('/'));
    // Separation of duties: an author uploads, an operator swaps.
    let token = match (method, path) {
        ("POST", "/v1/plugins" | "/v1/grants") | ("PUT", "/v1/translations") => {
            svc.upload_token.as_ref().unwrap_or(&svc.token)
        }
        _ => &svc.token,
    };
    let auth = format!("Bearer {token}");
    let sent = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("POST", Some((ctype, bytes))) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", ctype)
            .send(&bytes[..]),
        ("PUT", Some((ctype, bytes))) => agent
            .put(&url)
            .header("Authorization", &auth)
            .header("Content-Type", ctype)
            .send(&bytes[..]),
        _ => return Err(format!("{method} {path}: not a request this client makes")),
    };
    let mut resp = sent.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Ok((status, json))
}

fn message(status: u16, v: &serde_json::Value) -> String {
    let m = v
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    format!("HTTP {status}: {m}")
}

/// Swaps deployment `id` (running `running`) to `digest`: the event, or the refusal.
fn swap_one(
    agent: &ureq::Agent,
    svc: &Service,
    id: &str,
    running: &str,
    digest: &str,
) -> Result<Event, (u16, serde_json::Value)> {
    let body = serde_json::json!({ "plugin": digest })
        .to_string()
        .into_bytes();
    match call(
        agent,
        svc,
        "PUT",
        &format!("/v1/deployments/{id}/plugin"),
        Some(("application/json", body)),
    ) {
        Ok((200, _)) => Ok(Event::Swapped {
            deployment: id.to_string(),
            from: running.to_string(),
            to: digest.to_string(),
        }),
        Ok((status, v)) => Err((status, v)),
        Err(error) => Err((0, serde_json::Value::String(error))),
    }
}

/// Requests a grant for `digest` with the scope of grant `current` (the deployment's).
fn request_like(
    agent: &ureq::Agent,
    svc: &Service,
    deployment: &str,
    current: &str,
    digest: &str,
) -> Result<String, String> {
    let spec = match call(agent, svc, "GET", &format!("/v1/grants/{current}"), None)? {
        (200, v) => v.get("spec").cloned().unwrap_or_default(),
        (status, v) => return Err(format!("reading grant {current}: {}", message(status, &v))),
    };
    let body = serde_json::json!({
        "digest": digest,
        "grant": spec,
        "reason": format!("translate --watch: a re-translation of the component deployment {deployment} runs; the scope of its grant {current}"),
    });
    match call(
        agent,
        svc,
        "POST",
        "/v1/grants",
        Some(("application/json", body.to_string().into_bytes())),
    )? {
        (201, v) => v
            .get("id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "the service answered without a grant id".to_string()),
        (status, v) => Err(format!("requesting a grant: {}", message(status, &v))),
    }
}

/// Swaps that waited for a grant: done once it is approved, given up once it is rejected.
fn retry_awaiting(
    agent: &ureq::Agent,
    svc: &Service,
    awaiting: &mut BTreeMap<String, (String, String)>,
) -> Vec<Event> {
    let mut events = Vec::new();
    for (deployment, (digest, grant)) in std::mem::take(awaiting) {
        let status = match call(agent, svc, "GET", &format!("/v1/grants/{grant}"), None) {
            Ok((200, v)) => v
                .get("status")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let running = match call(
            agent,
            svc,
            "GET",
            &format!("/v1/deployments/{deployment}"),
            None,
        ) {
            Ok((200, v))
                if v.get("status").and_then(serde_json::Value::as_str) == Some("running") =>
            {
                v.get("digest")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            }
            // Ended (or gone): nothing to swap any more.
            _ => continue,
        };
        match status.as_str() {
            "approved" => match swap_one(agent, svc, &deployment, &running, &digest) {
                Ok(e) => events.push(e),
                Err((status, v)) => events.push(Event::SwapFailed {
                    deployment,
                    to: digest,
                    error: message(status, &v),
                }),
            },
            "rejected" => events.push(Event::SwapFailed {
                deployment,
                to: digest,
                error: format!("grant {grant} was rejected"),
            }),
            // Still pending (or unreadable for now): ask again next time.
            _ => {
                awaiting.insert(deployment, (digest, grant));
            }
        }
    }
    events
}

/// Uploads `bytes` and swaps every running deployment of `plugin` to it; a deployment whose
/// swap needs a grant for the new component gets one requested and waits in `awaiting`.
fn swap_running(
    agent: &ureq::Agent,
    svc: &Service,
    plugin: &str,
    bytes: &[u8],
    awaiting: &mut BTreeMap<String, (String, String)>,
) -> Vec<Event> {
    let mut events = Vec::new();
    let digest = match call(
        agent,
        svc,
        "POST",
        "/v1/plugins",
        Some(("application/wasm", bytes.to_vec())),
    ) {
        Ok((200 | 201, v)) => match v.get("digest").and_then(serde_json::Value::as_str) {
            Some(d) => d.to_string(),
            None => {
                return vec![Event::SwapFailed {
                    deployment: "*".into(),
                    to: plugin.into(),
                    error: "the registry answered without a digest".into(),
                }];
            }
        },
        Ok((status, v)) => {
            return vec![Event::SwapFailed {
                deployment: "*".into(),
                to: plugin.into(),
                error: format!("upload: {}", message(status, &v)),
            }];
        }
        Err(error) => {
            return vec![Event::SwapFailed {
                deployment: "*".into(),
                to: plugin.into(),
                error,
            }];
        }
    };
    events.push(Event::Uploaded {
        plugin: plugin.to_string(),
        digest: digest.clone(),
    });
    let deployments = match call(agent, svc, "GET", "/v1/deployments", None) {
        Ok((200, serde_json::Value::Array(list))) => list,
        Ok((status, v)) => {
            events.push(Event::SwapFailed {
                deployment: "*".into(),
                to: digest,
                error: format!("listing deployments: {}", message(status, &v)),
            });
            return events;
        }
        Err(error) => {
            events.push(Event::SwapFailed {
                deployment: "*".into(),
                to: digest,
                error,
            });
            return events;
        }
    };
    for d in deployments {
        let field = |k: &str| {
            d.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (id, name, status, running, current) = (
            field("id"),
            field("plugin"),
            field("status"),
            field("digest"),
            field("grant"),
        );
        if name != plugin || status != "running" || running == digest {
            continue;
        }
        awaiting.remove(&id);
        match swap_one(agent, svc, &id, &running, &digest) {
            Ok(e) => events.push(e),
            Err((409, v))
                if v.get("error").and_then(serde_json::Value::as_str) == Some("grant-required") =>
            {
                match request_like(agent, svc, &id, &current, &digest) {
                    Ok(grant) => {
                        events.push(Event::GrantRequested {
                            deployment: id.clone(),
                            digest: digest.clone(),
                            grant: grant.clone(),
                        });
                        awaiting.insert(id, (digest.clone(), grant));
                    }
                    Err(error) => events.push(Event::SwapFailed {
                        deployment: id,
                        to: digest.clone(),
                        error,
                    }),
                }
            }
            Err((status, v)) => events.push(Event::SwapFailed {
                deployment: id,
                to: digest.clone(),
                error: message(status, &v),
            }),
        }
    }
    events
}

/// Polls every `interval` until `stop` is set, handing each event to `report`.
pub fn run(
    source: &Source,
    opts: &Options,
    service: Option<&Service>,
    interval: Duration,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&Event),
) -> Result<(), TranslateError> {
    let mut state = State::default();
    while !stop.load(Ordering::SeqCst) {
        for e in poll(&mut state, source, opts, service) {
            report(&e);
        }
        let mut waited = Duration::ZERO;
        while waited < interval && !stop.load(Ordering::SeqCst) {
            let step = Duration::from_millis(100).min(interval - waited);
            std::thread::sleep(step);
            waited += step;
        }
    }
    Ok(())
}
