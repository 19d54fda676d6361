//! Capability: AI signal delivery. A plugin subscribes by signal type (and optionally
//! instrument); the router (later issue) delivers a signal only where [`SignalsState::wants`]
//! says so: granted, in scope and subscribed.

mod host;
mod state;

pub use state::{SignalScope, SignalSubscription, SignalsState};

use std::sync::Arc;

use stratbox_manifest::{Capability, CapabilityRequest};
use wasmtime::component::{HasSelf, Linker};

use super::{CapabilityUnit, Prepare, contract::requested_instruments};
use crate::bindings::{self, types::SignalType};

/// The WIT signal type named `name` (`regime-prediction`, ...).
#[must_use]
pub fn signal_type(name: &str) -> Option<SignalType> {
    Some(match name {
        "regime-prediction" => SignalType::RegimePrediction,
        "correlation-shift" => SignalType::CorrelationShift,
        "sentiment" => SignalType::Sentiment,
        "volatility-forecast" => SignalType::VolatilityForecast,
        _ => return None,
    })
}

/// The signal scope of a (narrowed) request: empty lists do not narrow.
#[must_use]
pub fn scope_of(request: Option<&CapabilityRequest>) -> SignalScope {
    let Some(r) = request else {
        return SignalScope::default();
    };
    SignalScope {
        types: (!r.signal_types.is_empty()).then(|| {
            r.signal_types
                .iter()
                .filter_map(|t| signal_type(t))
                .collect()
        }),
        instruments: requested_instruments(Some(r)),
        source_models: (!r.source_models.is_empty())
            .then(|| r.source_models.iter().cloned().collect()),
    }
}

impl CapabilityUnit for SignalsState {
    const CAPABILITY: Option<Capability> = Some(Capability::Signals);

    fn link<T: 'static>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        bindings::signals::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }

    fn prepare(cx: &mut Prepare<'_>) -> Self {
        Self::new(
            cx.granted(Capability::Signals),
            scope_of(cx.request(Capability::Signals)),
            Arc::clone(cx.market),
            cx.limits().max_subscriptions,
        )
    }

    fn take_over(&mut self, from: &mut Self) -> Result<(), String> {
        self.take_over_session(from)
    }

    fn revoke(&mut self) {
        self.granted = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use stratbox_manifest::CapabilityRequest;

    use super::{CapabilityUnit, SignalsState, scope_of};
    use crate::{
        bindings::{
            signals::{Host, SignalError},
            types::SignalType,
        },
        capabilities::{contract::HostError, market_data::MarketDataSource},
        sandbox::HostTrap,
        stubs::StaticMarket,
    };

    fn state(granted: bool, request: &CapabilityRequest) -> SignalsState {
        let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[]));
        SignalsState::new(granted, scope_of(Some(request)), market, 2)
    }

    fn sentiment_only() -> CapabilityRequest {
        CapabilityRequest {
            signal_types: vec!["sentiment".into()],
            ..CapabilityRequest::default()
        }
    }

    #[test]
    fn scope_narrows_types_and_sources() {
        let requested = CapabilityRequest {
            signal_types: vec!["sentiment".into(), "regime-prediction".into()],
            source_models: vec!["m1".into()],
            ..CapabilityRequest::default()
        };
        let scope = SignalsState::scope(&requested, &sentiment_only()).unwrap();
        assert_eq!(scope.signal_types, ["sentiment"]);
        assert_eq!(scope.source_models, ["m1"]);
        let s = scope_of(Some(&scope));
        assert_eq!(s.types, Some(vec![SignalType::Sentiment]));
        assert!(scope_of(None).types.is_none(), "no request: not narrowed");
    }

    #[test]
    fn subscriptions_respect_the_scope_and_the_limit() {
        let mut s = state(true, &sentiment_only());
        match s.subscribe(SignalType::RegimePrediction, None) {
            Err(HostError::Wit(SignalError::TypeNotGranted(t))) => {
                assert_eq!(t, SignalType::RegimePrediction);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.subscribe(SignalType::Sentiment, None).unwrap(), 0);
        assert_eq!(
            s.subscribe(SignalType::Sentiment, None).unwrap(),
            0,
            "same again"
        );
        s.subscribe(SignalType::Sentiment, Some("GBP/USD.FXCM".into()))
            .unwrap();
        assert!(matches!(
            s.subscribe(SignalType::Sentiment, Some("XXX".into())),
            Err(HostError::Wit(SignalError::InstrumentNotGranted(_)))
        ));
    }

    #[test]
    fn take_over_needs_a_grant_and_revoke_traps() {
        let mut old = state(true, &sentiment_only());
        old.subscribe(SignalType::Sentiment, None).unwrap();
        let mut ungranted = state(false, &sentiment_only());
        assert!(CapabilityUnit::take_over(&mut ungranted, &mut old).is_err());
        assert_eq!(old.subscriptions().len(), 1, "nothing moved");
        let mut new = state(true, &sentiment_only());
        CapabilityUnit::take_over(&mut new, &mut old).unwrap();
        assert_eq!(new.subscriptions().len(), 1);
        CapabilityUnit::revoke(&mut new);
        match new.unsubscribe(0) {
            Err(HostError::Trap(t)) => assert!(matches!(
                t.downcast_ref::<HostTrap>(),
                Some(HostTrap::CapabilityDenied { .. })
            )),
            other => panic!("{other:?}"),
        }
    }
}
