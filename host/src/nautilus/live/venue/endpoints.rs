//! The three endpoints a Binance spot run talks to, per environment, and the overrides that
//! point them elsewhere (a proxy, or the loopback server of the tests).
//!
//! nautilus-binance 0.57 picks only the REST base URL from its `environment`: its SBE market
//! data client and its WebSocket API client default to the live exchange whatever the
//! environment. stratbox therefore always passes all three URLs, chosen here, so a testnet
//! run cannot reach the live exchange by omission.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{VenueEnvironment, VenueError};
use nautilus_binance::{
    common::{
        consts::{
            BINANCE_SPOT_DEMO_HTTP_URL, BINANCE_SPOT_HTTP_URL, BINANCE_SPOT_SBE_WS_API_DEMO_URL,
            BINANCE_SPOT_SBE_WS_API_TESTNET_URL, BINANCE_SPOT_SBE_WS_API_URL,
            BINANCE_SPOT_SBE_WS_URL, BINANCE_SPOT_TESTNET_HTTP_URL,
        },
        enums::BinanceEnvironment,
    },
    spot::sbe::spot::{SBE_SCHEMA_ID, SBE_SCHEMA_VERSION},
};

/// Binance's SBE market data stream on the spot testnet (Binance's testnet documentation,
/// "SBE Market Data Streams"); nautilus-binance 0.57 has no constant for it.
pub const BINANCE_SPOT_TESTNET_SBE_STREAM_URL: &str = "wss://stream-sbe.testnet.binance.vision/ws";

/// Optional replacements of an environment's endpoints (`[urls]` of a venue config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlOverrides {
    /// REST API base, without a path (`/api/v3/...` is appended), e.g.
    /// `https://testnet.binance.vision`.
    pub http: Option<String>,
    /// SBE market data stream, e.g. `wss://stream-sbe.testnet.binance.vision/ws`.
    pub ws_stream: Option<String>,
    /// WebSocket API endpoint without a query, e.g.
    /// `wss://ws-api.testnet.binance.vision/ws-api/v3` (stratbox adds the SBE parameters).
    pub ws_api: Option<String>,
}

/// The endpoints of a run, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// REST API base (no trailing slash).
    pub http: String,
    /// SBE market data stream.
    pub ws_stream: String,
    /// WebSocket API, with the SBE response format and schema the adapter decodes.
    pub ws_api: String,
}

impl Endpoints {
    /// The endpoints of `environment` with `overrides` applied.
    ///
    /// # Errors
    /// An override is not a URL of the right kind, or `demo` has no market data stream
    /// override (Binance documents no SBE stream for demo trading).
    pub fn resolve(
        environment: VenueEnvironment,
        overrides: &UrlOverrides,
    ) -> Result<Self, VenueError> {
        let (http, stream, api) = match environment {
            VenueEnvironment::Live => (
                BINANCE_SPOT_HTTP_URL,
                Some(BINANCE_SPOT_SBE_WS_URL),
                BINANCE_SPOT_SBE_WS_API_URL,
            ),
            VenueEnvironment::Testnet => (
                BINANCE_SPOT_TESTNET_HTTP_URL,
                Some(BINANCE_SPOT_TESTNET_SBE_STREAM_URL),
                BINANCE_SPOT_SBE_WS_API_TESTNET_URL,
            ),
            VenueEnvironment::Demo => (
                BINANCE_SPOT_DEMO_HTTP_URL,
                None,
                BINANCE_SPOT_SBE_WS_API_DEMO_URL,
            ),
        };
        let http = match &overrides.http {
            Some(u) => checked(u, "urls.http", Kind::Http)?,
            None => http.to_string(),
        };
        let ws_stream = match (&overrides.ws_stream, stream) {
            (Some(u), _) => checked(u, "urls.ws_stream", Kind::Ws)?,
            (None, Some(default)) => default.to_string(),
            (None, None) => {
                return Err(VenueError::Config(format!(
                    "environment `{}` has no documented SBE market data stream: set `urls.ws_stream`",
                    environment.as_str()
                )));
            }
        };
        let ws_api = match &overrides.ws_api {
            Some(u) => checked(u, "urls.ws_api", Kind::Ws)?,
            // The adapter's constants ask for schema 3:3, which its own decoders refuse
            // (they check the version against SBE_SCHEMA_VERSION): drop their query.
            None => api.split('?').next().unwrap_or(api).to_string(),
        };
        Ok(Self {
            http: http.trim_end_matches('/').to_string(),
            ws_stream,
            ws_api: format!(
                "{ws_api}?responseFormat=sbe&sbeSchemaId={SBE_SCHEMA_ID}&sbeSchemaVersion={SBE_SCHEMA_VERSION}"
            ),
        })
    }
}

impl VenueEnvironment {
    /// The adapter's environment.
    #[must_use]
    pub fn binance(self) -> BinanceEnvironment {
        match self {
            Self::Live => BinanceEnvironment::Live,
            Self::Testnet => BinanceEnvironment::Testnet,
            Self::Demo => BinanceEnvironment::Demo,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Http,
    Ws,
}

/// `text` as an endpoint of `kind`: an absolute URL with a host, no query or fragment, no
/// credentials; plain `http`/`ws` only to a loopback host (the API key travels in a header).
fn checked(text: &str, field: &str, kind: Kind) -> Result<String, VenueError> {
    let bad = |why: &str| {
        let example = match kind {
            Kind::Http => "https://testnet.binance.vision",
            Kind::Ws => "wss://ws-api.testnet.binance.vision/ws-api/v3",
        };
        VenueError::Config(format!(
            "{field} = `{text}`: {why}; expected a URL like `{example}`"
        ))
    };
    let url = Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let (secure, plain) = match kind {
        Kind::Http => ("https", "http"),
        Kind::Ws => ("wss", "ws"),
    };
    let scheme = url.scheme();
    if scheme != secure && scheme != plain {
        return Err(bad(&format!("the scheme must be `{secure}`")));
    }
    let Some(host) = url.host() else {
        return Err(bad("it has no host"));
    };
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if scheme == plain && !loopback {
        return Err(bad(&format!(
            "`{plain}` sends the API key unencrypted; use `{secure}` (plain `{plain}` is for a loopback server only)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give it without a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not go in a URL"));
    }
    if matches!(kind, Kind::Http) && url.path() != "/" {
        return Err(bad(
            "give the base without a path (`/api/v3/...` is appended)",
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(http: Option<&str>, stream: Option<&str>, api: Option<&str>) -> UrlOverrides {
        UrlOverrides {
            http: http.map(Into::into),
            ws_stream: stream.map(Into::into),
            ws_api: api.map(Into::into),
        }
    }

    #[test]
    fn testnet_never_defaults_to_the_live_exchange() {
        let e = Endpoints::resolve(VenueEnvironment::Testnet, &UrlOverrides::default()).unwrap();
        assert_eq!(e.http, "https://testnet.binance.vision");
        assert_eq!(e.ws_stream, "wss://stream-sbe.testnet.binance.vision/ws");
        assert_eq!(
            e.ws_api,
            format!(
                "wss://ws-api.testnet.binance.vision/ws-api/v3?responseFormat=sbe&sbeSchemaId=3&sbeSchemaVersion={SBE_SCHEMA_VERSION}"
            )
        );
    }

    #[test]
    fn loopback_overrides_may_be_plain() {
        let e = Endpoints::resolve(
            VenueEnvironment::Testnet,
            &with(
                Some("http://127.0.0.1:9000/"),
                Some("ws://127.0.0.1:9000/ws"),
                Some("ws://localhost:9000/ws-api/v3"),
            ),
        )
        .unwrap();
        assert_eq!(e.http, "http://127.0.0.1:9000");
        assert!(
            e.ws_api
                .starts_with("ws://localhost:9000/ws-api/v3?responseFormat=sbe")
        );
    }

    #[test]
    fn bad_overrides_are_refused_with_the_field_named() {
        let err = |o: UrlOverrides| {
            Endpoints::resolve(VenueEnvironment::Testnet, &o)
                .unwrap_err()
                .to_string()
        };
        let e = err(with(Some("http://api.example.com"), None, None));
        assert!(
            e.starts_with(
                "urls.http = `http://api.example.com`: `http` sends the API key unencrypted"
            ),
            "{e}"
        );
        let e = err(with(None, Some("https://stream.example.com/ws"), None));
        assert!(
            e.contains("urls.ws_stream") && e.contains("scheme must be `wss`"),
            "{e}"
        );
        let e = err(with(
            None,
            None,
            Some("wss://x.example.com/ws-api/v3?responseFormat=json"),
        ));
        assert!(e.contains("without a query"), "{e}");
        let e = err(with(Some("https://x.example.com/api/v3"), None, None));
        assert!(e.contains("without a path"), "{e}");
        let e = err(with(Some("not a url"), None, None));
        assert!(e.contains("not a URL"), "{e}");
    }

    #[test]
    fn demo_needs_a_stream_override() {
        let e = Endpoints::resolve(VenueEnvironment::Demo, &UrlOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("set `urls.ws_stream`"), "{e}");
    }
}
