//! One instrument's time series of one kind (bars, quotes or trades) as Nautilus values,
//! with the source line or row each value came from.

use nautilus_model::data::{Bar, BarType, Data, QuoteTick, TradeTick};

crate::named_enum! {
    /// What a catalog dataset holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Kind: "data kind" {
        Bars = "bars": "Bars of one bar type.",
        Quotes = "quotes": "Quote ticks (bid and ask).",
        Trades = "trades": "Trade ticks.",
    }
}

impl Kind {
    /// The catalog folder under `data/` (Nautilus's `path_prefix`).
    #[must_use]
    pub fn dir(self) -> &'static str {
        match self {
            Self::Bars => "bars",
            Self::Quotes => "quotes",
            Self::Trades => "trades",
        }
    }

    /// The kind stored in folder `dir`.
    #[must_use]
    pub fn from_dir(dir: &str) -> Option<Self> {
        match dir {
            "bars" => Some(Self::Bars),
            "quotes" => Some(Self::Quotes),
            "trades" => Some(Self::Trades),
            _ => None,
        }
    }
}

/// Values of one kind, in the order they were read.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    Bars(Vec<Bar>),
    Quotes(Vec<QuoteTick>),
    Trades(Vec<TradeTick>),
}

impl Series {
    /// An empty series of `kind`.
    #[must_use]
    pub fn empty(kind: Kind) -> Self {
        match kind {
            Kind::Bars => Self::Bars(Vec::new()),
            Kind::Quotes => Self::Quotes(Vec::new()),
            Kind::Trades => Self::Trades(Vec::new()),
        }
    }

    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Self::Bars(_) => Kind::Bars,
            Self::Quotes(_) => Kind::Quotes,
            Self::Trades(_) => Kind::Trades,
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Bars(v) => v.len(),
            Self::Quotes(v) => v.len(),
            Self::Trades(v) => v.len(),
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `ts_init` of value `i`.
    #[must_use]
    pub fn ts(&self, i: usize) -> u64 {
        match self {
            Self::Bars(v) => v[i].ts_init.as_u64(),
            Self::Quotes(v) => v[i].ts_init.as_u64(),
            Self::Trades(v) => v[i].ts_init.as_u64(),
        }
    }

    /// First and last `ts_init`, if any.
    #[must_use]
    pub fn range(&self) -> Option<(u64, u64)> {
        (!self.is_empty()).then(|| (self.ts(0), self.ts(self.len() - 1)))
    }

    /// The values as Nautilus [`Data`], for a backtest.
    #[must_use]
    pub fn into_data(self) -> Vec<Data> {
        match self {
            Self::Bars(v) => v.into_iter().map(Data::Bar).collect(),
            Self::Quotes(v) => v.into_iter().map(Data::Quote).collect(),
            Self::Trades(v) => v.into_iter().map(Data::Trade).collect(),
        }
    }

    /// Appends `other` (same kind) after these values.
    ///
    /// # Errors
    /// When the kinds differ.
    pub fn extend(&mut self, other: Self) -> Result<(), String> {
        match (self, other) {
            (Self::Bars(a), Self::Bars(b)) => a.extend(b),
            (Self::Quotes(a), Self::Quotes(b)) => a.extend(b),
            (Self::Trades(a), Self::Trades(b)) => a.extend(b),
            (a, b) => {
                return Err(format!("cannot combine {} with {}", a.kind(), b.kind()));
            }
        }
        Ok(())
    }

    /// The values whose `ts_init` is within `[from, to]` (either bound optional).
    #[must_use]
    pub fn within(self, from: Option<u64>, to: Option<u64>) -> Self {
        let keep = |ts: u64| from.is_none_or(|f| ts >= f) && to.is_none_or(|t| ts <= t);
        match self {
            Self::Bars(v) => {
                Self::Bars(v.into_iter().filter(|b| keep(b.ts_init.as_u64())).collect())
            }
            Self::Quotes(v) => {
                Self::Quotes(v.into_iter().filter(|q| keep(q.ts_init.as_u64())).collect())
            }
            Self::Trades(v) => {
                Self::Trades(v.into_iter().filter(|t| keep(t.ts_init.as_u64())).collect())
            }
        }
    }
}

/// Where a value came from: a 1-based line of a text file or a 1-based row of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Line,
    Row,
}

/// A series read from one source, each value with its line or row there.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub series: Series,
    /// Line or row of each value (same order as `series`).
    pub origin: Vec<u64>,
    pub unit: Unit,
    /// The bar type of a bar series.
    pub bar_type: Option<BarType>,
}

impl Parsed {
    /// "line 7" / "row 7".
    #[must_use]
    pub fn at(&self, i: usize) -> String {
        let n = self.origin.get(i).copied().unwrap_or(0);
        match self.unit {
            Unit::Line => format!("line {n}"),
            Unit::Row => format!("row {n}"),
        }
    }
}
