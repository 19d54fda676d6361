//! Which indicators of a program the host feeds (registered, Nautilus's own handlers) and
//! how the runtime feeds the rest itself.

use stratbox_sdk::{
    prelude::*,
    wit::{AverageSpec, BandsSpec, IndicatorSpec, PriceType as WitPriceType},
};

use crate::program::{Field, IndicatorKind, Input};

/// The host spec of an indicator fed from `input`, if Nautilus's own handler feeds it
/// exactly as this runtime would: moving averages and RSI of the close (bars) or of the
/// bid/ask/mid (quotes; RSI the mid), Bollinger bands of bars.
pub(super) fn host_spec(
    input: Input,
    kind: IndicatorKind,
    source: Field,
    n: usize,
    k: Option<f64>,
) -> Option<IndicatorSpec> {
    let period = u32::try_from(n).ok()?;
    let average = |price_type| AverageSpec { period, price_type };
    let price = match (input, source) {
        (Input::Bars, Field::Close) => WitPriceType::Last,
        (Input::Quotes, Field::Bid) => WitPriceType::Bid,
        (Input::Quotes, Field::Ask) => WitPriceType::Ask,
        (Input::Quotes, Field::Mid) => WitPriceType::Mid,
        _ if kind == IndicatorKind::Bollinger && input == Input::Bars => WitPriceType::Last,
        _ => return None,
    };
    match kind {
        IndicatorKind::Ema => Some(IndicatorSpec::Ema(average(price))),
        IndicatorKind::Sma if n <= 1_024 => Some(IndicatorSpec::Sma(average(price))),
        IndicatorKind::Rsi if matches!(price, WitPriceType::Last | WitPriceType::Mid) => {
            Some(IndicatorSpec::Rsi(period))
        }
        IndicatorKind::Bollinger if input == Input::Bars && n <= 1_024 => {
            Some(IndicatorSpec::Bollinger(BandsSpec { period, k: k? }))
        }
        _ => None,
    }
}

/// The price type a guest-fed moving average of `f` reads from a quote.
pub(super) const fn price_type(f: Field) -> Option<PriceType> {
    match f {
        Field::Bid => Some(PriceType::Bid),
        Field::Ask => Some(PriceType::Ask),
        Field::Mid => Some(PriceType::Mid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use stratbox_sdk::wit::{AverageSpec, IndicatorSpec, PriceType};

    use super::host_spec;
    use crate::program::{Field, IndicatorKind as K, Input};

    #[test]
    fn the_host_feeds_what_nautilus_s_handlers_feed_and_nothing_else() {
        let ema = |p| {
            Some(IndicatorSpec::Ema(AverageSpec {
                period: 10,
                price_type: p,
            }))
        };
        assert_eq!(
            host_spec(Input::Bars, K::Ema, Field::Close, 10, None),
            ema(PriceType::Last)
        );
        assert_eq!(
            host_spec(Input::Quotes, K::Ema, Field::Mid, 10, None),
            ema(PriceType::Mid)
        );
        assert_eq!(
            host_spec(Input::Quotes, K::Ema, Field::Ask, 10, None),
            ema(PriceType::Ask)
        );
        // Nautilus feeds a bar's close and a quote's mid to RSI; anything else stays here.
        assert_eq!(host_spec(Input::Bars, K::Ema, Field::High, 10, None), None);
        assert_eq!(host_spec(Input::Quotes, K::Rsi, Field::Bid, 14, None), None);
        assert_eq!(
            host_spec(Input::Quotes, K::Rsi, Field::Mid, 14, None),
            Some(IndicatorSpec::Rsi(14))
        );
        // Windows over Nautilus's 1,024, bands of quotes and channels are the guest's.
        assert_eq!(
            host_spec(Input::Bars, K::Sma, Field::Close, 2_000, None),
            None
        );
        assert_eq!(
            host_spec(Input::Quotes, K::Bollinger, Field::Close, 20, Some(2.0)),
            None
        );
        assert!(host_spec(Input::Bars, K::Bollinger, Field::Close, 20, Some(2.0)).is_some());
        assert_eq!(
            host_spec(Input::Bars, K::Donchian, Field::Close, 20, None),
            None
        );
    }
}
