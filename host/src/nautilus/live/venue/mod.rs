//! Real venues for live runs (decision 0030): Binance spot through Nautilus's own adapter
//! (`nautilus-binance` 0.57), chosen by a [`VenueConfig`], instead of the sandbox venue and
//! the replay feed.
//!
//! ```toml
//! venue = "binance-spot"
//! environment = "testnet"          # testnet (default) | demo | live
//! account_id = "BINANCE-001"       # issuer must be BINANCE
//! keys = { env = { api_key = "BINANCE_TESTNET_API_KEY", api_secret = "BINANCE_TESTNET_API_SECRET" } }
//! # keys = { file = "/etc/stratbox/binance-testnet.toml" }   # api_key, api_secret; chmod 600
//! [urls]                           # optional: proxies, or the tests' loopback server
//! http = "https://testnet.binance.vision"
//! ws_stream = "wss://stream-sbe.testnet.binance.vision/ws"
//! ws_api = "wss://ws-api.testnet.binance.vision/ws-api/v3"
//! ```
//!
//! - [`VenueConfig::resolve`] reads the keys ([`keys`]) and picks the endpoints
//!   ([`endpoints`]); nothing connects yet.
//! - [`add_clients`] adds the adapter's data and execution clients to a `LiveNodeBuilder`.
//! - [`node::build_node`] builds a whole node with the run's component strategies, each
//!   behind its risk gate as in a backtest; [`node::fetch_instruments`] asks the venue for
//!   its instruments first, so the gates know them.

pub mod endpoints;
pub mod keys;
pub mod node;

use nautilus_binance::{
    common::{consts::BINANCE, enums::BinanceProductType},
    config::{BinanceDataClientConfig, BinanceExecClientConfig},
    factories::{BinanceDataClientFactory, BinanceExecutionClientFactory},
};
use nautilus_live::builder::LiveNodeBuilder;
use nautilus_model::identifiers::{AccountId, TraderId};
use serde::{Deserialize, Serialize, de::IgnoredAny};

pub use self::{
    endpoints::{Endpoints, UrlOverrides},
    keys::{Credentials, KeySource},
};

/// A venue run could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum VenueError {
    /// The venue configuration is wrong (unknown venue, bad URL, secret inline, ...).
    #[error("{0}")]
    Config(String),
    /// The API key or secret cannot be read, or is not usable.
    #[error("{0}")]
    Keys(String),
    /// The venue answered with an error, or could not be reached.
    #[error("{0}")]
    Venue(String),
    /// Nautilus refused a client or the node.
    #[error("nautilus: {0:#}")]
    Nautilus(anyhow::Error),
}

/// The venues stratbox can trade on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum VenueName {
    /// Binance spot (`BTCUSDT.BINANCE`, ...), through nautilus-binance's spot clients.
    BinanceSpot,
}

impl TryFrom<String> for VenueName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "binance-spot" => Ok(Self::BinanceSpot),
            other => Err(format!(
                "unknown venue `{other}`: stratbox trades on `binance-spot` (the sandbox venue needs no venue configuration)"
            )),
        }
    }
}

impl VenueName {
    /// The venue's name in Nautilus instrument ids (`BTCUSDT.BINANCE`).
    #[must_use]
    pub fn nautilus_venue(self) -> &'static str {
        match self {
            Self::BinanceSpot => BINANCE,
        }
    }
}

impl From<VenueName> for String {
    fn from(name: VenueName) -> Self {
        match name {
            VenueName::BinanceSpot => "binance-spot".into(),
        }
    }
}

/// Which of the venue's exchanges: its test network, its demo trading, or the real one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueEnvironment {
    /// Binance's spot test network (testnet.binance.vision): test funds, separate keys.
    #[default]
    Testnet,
    /// Binance demo trading (demo-api.binance.com): live prices, simulated funds.
    Demo,
    /// The real exchange: real money.
    Live,
}

impl VenueEnvironment {
    /// The name used in configurations.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Testnet => "testnet",
            Self::Demo => "demo",
            Self::Live => "live",
        }
    }

    /// The environment variables read when a configuration names no key source (those
    /// Nautilus's own Binance examples use).
    #[must_use]
    pub fn default_keys(self) -> KeySource {
        let (key, secret) = match self {
            Self::Testnet => ("BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"),
            Self::Demo => ("BINANCE_DEMO_API_KEY", "BINANCE_DEMO_API_SECRET"),
            Self::Live => ("BINANCE_API_KEY", "BINANCE_API_SECRET"),
        };
        KeySource::Env {
            api_key: key.into(),
            api_secret: secret.into(),
        }
    }
}

fn default_account_id() -> String {
    format!("{BINANCE}-001")
}

/// Which venue a live run trades on, and how to reach it. Holds no secret: only where the
/// key and secret are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    pub venue: VenueName,
    #[serde(default)]
    pub environment: VenueEnvironment,
    /// The account's id in Nautilus (`BINANCE-001`).
    #[serde(default = "default_account_id")]
    pub account_id: String,
    /// Where the API key and secret come from; by default the environment's variables
    /// ([`VenueEnvironment::default_keys`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeySource>,
    #[serde(default)]
    pub urls: UrlOverrides,
    // Accepted by the parser only to be refused by `check` with a clear message: a secret
    // never goes in a configuration (which is stored, copied and logged).
    #[serde(default, skip_serializing)]
    api_key: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    api_secret: Option<IgnoredAny>,
}

impl VenueConfig {
    /// A configuration of `venue` on `environment` with the default account, keys and URLs.
    #[must_use]
    pub fn new(venue: VenueName, environment: VenueEnvironment) -> Self {
        Self {
            venue,
            environment,
            account_id: default_account_id(),
            keys: None,
            urls: UrlOverrides::default(),
            api_key: None,
            api_secret: None,
        }
    }

    /// Parses a venue configuration (the TOML in the module documentation).
    ///
    /// # Errors
    /// Not TOML, an unknown key or venue, or a key or secret given inline.
    pub fn from_toml(text: &str) -> Result<Self, VenueError> {
        // The message without toml's excerpt of the text, and the line it is on.
        let config: Self = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| before.matches('\n').count() + 1);
            VenueError::Config(format!(
                "venue configuration{}: {}",
                line.map(|l| format!(", line {l}")).unwrap_or_default(),
                e.message()
            ))
        })?;
        config.check()?;
        Ok(config)
    }

    /// Where the keys are read from.
    #[must_use]
    pub fn key_source(&self) -> KeySource {
        self.keys
            .clone()
            .unwrap_or_else(|| self.environment.default_keys())
    }

    /// Checks what can be checked without reading the keys: no key or secret inline, a
    /// usable account id (a configuration embedded in another, as the service's is, is
    /// checked here; [`Self::from_toml`] checks its own).
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), VenueError> {
        self.check()
    }

    fn check(&self) -> Result<(), VenueError> {
        if self.api_key.is_some() || self.api_secret.is_some() {
            return Err(VenueError::Config(
                "venue configuration: the API key and secret never go in a configuration; name where they are read from instead: `keys = { env = { api_key = \"VAR\", api_secret = \"VAR\" } }` or `keys = { file = \"/path/key.toml\" }`".into(),
            ));
        }
        self.account_id()?;
        Ok(())
    }

    fn account_id(&self) -> Result<AccountId, VenueError> {
        let bad = |why: &str| {
            VenueError::Config(format!(
                "account_id = `{}`: {why}; expected `{BINANCE}-001`",
                self.account_id
            ))
        };
        let (issuer, number) = self
            .account_id
            .split_once('-')
            .ok_or_else(|| bad("not ISSUER-NUMBER"))?;
        if issuer != BINANCE {
            return Err(bad(&format!(
                "the issuer must be the venue, `{BINANCE}` (Nautilus finds a venue's account by it)"
            )));
        }
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("the part after `-` must be letters or digits"));
        }
        AccountId::new_checked(&self.account_id).map_err(|e| bad(&e.to_string()))
    }

    /// Reads the keys and checks the endpoints; connects to nothing.
    ///
    /// # Errors
    /// See [`VenueConfig::from_toml`], [`KeySource::resolve`] and [`Endpoints::resolve`].
    pub fn resolve(&self) -> Result<ResolvedVenue, VenueError> {
        self.resolve_with(&|name| std::env::var(name))
    }

    /// [`Self::resolve`] with environment variables looked up by `env`.
    ///
    /// # Errors
    /// As [`Self::resolve`].
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<ResolvedVenue, VenueError> {
        self.check()?;
        let account_id = self.account_id()?;
        let endpoints = Endpoints::resolve(self.environment, &self.urls)?;
        let credentials = self.key_source().resolve_with(env)?;
        Ok(ResolvedVenue {
            config: self.clone(),
            account_id,
            endpoints,
            credentials,
        })
    }
}

/// A venue configuration with its keys read and its endpoints chosen.
#[derive(Debug, Clone)]
pub struct ResolvedVenue {
    pub config: VenueConfig,
    pub account_id: AccountId,
    pub endpoints: Endpoints,
    pub credentials: Credentials,
}

impl ResolvedVenue {
    /// The adapter's data client configuration.
    #[must_use]
    pub fn data_client_config(&self) -> BinanceDataClientConfig {
        BinanceDataClientConfig {
            product_types: vec![BinanceProductType::Spot],
            environment: self.config.environment.binance(),
            base_url_http: Some(self.endpoints.http.clone()),
            base_url_ws: Some(self.endpoints.ws_stream.clone()),
            api_key: Some(self.credentials.api_key().to_string()),
            api_secret: Some(self.credentials.api_secret().to_string()),
            ..BinanceDataClientConfig::default()
        }
    }

    /// The adapter's execution client configuration: orders and their updates over the
    /// WebSocket API (REST when it is down), account and open orders over REST.
    #[must_use]
    pub fn exec_client_config(&self, trader_id: TraderId) -> BinanceExecClientConfig {
        BinanceExecClientConfig {
            trader_id,
            account_id: self.account_id,
            product_types: vec![BinanceProductType::Spot],
            environment: self.config.environment.binance(),
            base_url_http: Some(self.endpoints.http.clone()),
            base_url_ws: None,
            base_url_ws_trading: Some(self.endpoints.ws_api.clone()),
            use_ws_trading: true,
            api_key: Some(self.credentials.api_key().to_string()),
            api_secret: Some(self.credentials.api_secret().to_string()),
            ..BinanceExecClientConfig::default()
        }
    }
}

/// Adds the venue's data client and execution client (both named `BINANCE`) to `builder`.
///
/// # Errors
/// Nautilus refused a client (one of that name is already registered).
pub fn add_clients(
    builder: LiveNodeBuilder,
    venue: &ResolvedVenue,
    trader_id: TraderId,
) -> Result<LiveNodeBuilder, VenueError> {
    match venue.config.venue {
        VenueName::BinanceSpot => builder
            .add_data_client(
                Some(BINANCE.into()),
                Box::new(BinanceDataClientFactory::new()),
                Box::new(venue.data_client_config()),
            )
            .and_then(|b| {
                b.add_exec_client(
                    Some(BINANCE.into()),
                    Box::new(BinanceExecutionClientFactory::new()),
                    Box::new(venue.exec_client_config(trader_id)),
                )
            })
            .map_err(VenueError::Nautilus),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_is_testnet_with_the_testnet_variables() {
        let c = VenueConfig::from_toml("venue = \"binance-spot\"").unwrap();
        assert_eq!(c.environment, VenueEnvironment::Testnet);
        assert_eq!(c.account_id, "BINANCE-001");
        assert_eq!(
            c.key_source(),
            KeySource::Env {
                api_key: "BINANCE_TESTNET_API_KEY".into(),
                api_secret: "BINANCE_TESTNET_API_SECRET".into()
            }
        );
    }

    #[test]
    fn a_full_config_parses() {
        let c = VenueConfig::from_toml(
            r#"
venue = "binance-spot"
environment = "live"
account_id = "BINANCE-002"
keys = { file = "/etc/stratbox/binance.toml" }
[urls]
http = "https://api.binance.com"
"#,
        )
        .unwrap();
        assert_eq!(c.environment, VenueEnvironment::Live);
        assert_eq!(
            c.key_source(),
            KeySource::File("/etc/stratbox/binance.toml".into())
        );
        assert_eq!(c.urls.http.as_deref(), Some("https://api.binance.com"));
    }

    #[test]
    fn an_inline_secret_is_refused() {
        let e = VenueConfig::from_toml("venue = \"binance-spot\"\napi_secret = \"abc\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("never go in a configuration"), "{e}");
        assert!(!e.contains("abc"), "{e}");
    }

    #[test]
    fn unknown_venues_fields_and_accounts_are_refused() {
        let e = VenueConfig::from_toml("venue = \"kraken\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown venue `kraken`"), "{e}");
        let e = VenueConfig::from_toml("venue = \"binance-spot\"\nenvironment = \"prod\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `prod`"), "{e}");
        let e = VenueConfig::from_toml("venue = \"binance-spot\"\nbase_url = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `base_url`"), "{e}");
        let e = VenueConfig::from_toml("venue = \"binance-spot\"\naccount_id = \"SIM-001\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("issuer must be the venue"), "{e}");
    }

    #[test]
    fn resolving_reads_keys_and_picks_endpoints() {
        let secret = keys::ed25519_pkcs8_base64(&[3; 32]);
        let c = VenueConfig::from_toml(
            "venue = \"binance-spot\"\n[urls]\nhttp = \"http://127.0.0.1:1\"",
        )
        .unwrap();
        let v = c
            .resolve_with(&|name| match name {
                "BINANCE_TESTNET_API_KEY" => Ok("k".into()),
                "BINANCE_TESTNET_API_SECRET" => Ok(secret.clone()),
                _ => Err(std::env::VarError::NotPresent),
            })
            .unwrap();
        assert_eq!(v.endpoints.http, "http://127.0.0.1:1");
        let exec = v.exec_client_config(TraderId::from("STRATBOX-001"));
        assert_eq!(exec.account_id, AccountId::from("BINANCE-001"));
        assert_eq!(
            exec.base_url_ws_trading.as_deref(),
            Some(v.endpoints.ws_api.as_str())
        );
        assert!(!format!("{v:?}").contains(&secret));
        let e = c
            .resolve_with(&|_| Err(std::env::VarError::NotPresent))
            .unwrap_err()
            .to_string();
        assert!(e.contains("BINANCE_TESTNET_API_KEY is not set"), "{e}");
    }
}
