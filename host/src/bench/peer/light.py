"""The Python peer of ema-atr-filter for `stratbox bench peer`.

Nautilus's own Python strategy with the light logic of
plugins/ema-atr-filter/src/core.rs, run in a Python BacktestEngine on the quotes the
Rust side wrote. Usage: python light.py SETTINGS.json QUOTES.csv

SETTINGS.json holds the instrument (as defined in data/instruments.toml), the starting
balance and the strategy's settings. QUOTES.csv holds one quote a line:
ts_event,ts_init,bid,ask,bid_size,ask_size (exact decimal strings).

The quotes are built into QuoteTick objects once (the Rust side loads them once too),
then one line `stratbox-peer {header JSON}` is printed. Each line read on stdin then runs
the backtest once and prints `stratbox-peer {run JSON}`: the Rust side interleaves these
runs with the component's. A run is timed whole, as `stratbox bench backtest` times its
runs: engine built, venue and instrument added, data added, strategy added, run, disposed.
By hand: `echo | python light.py SETTINGS.json QUOTES.csv`.
"""

import csv
import json
import sys
import time
from decimal import Decimal

import nautilus_trader
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators.averages import ExponentialMovingAverage
from nautilus_trader.indicators.volatility import AverageTrueRange
from nautilus_trader.model.currencies import Currency
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, BookType, OmsType, OrderSide, PriceType
from nautilus_trader.model.identifiers import InstrumentId, TraderId
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy


class LightConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    trade_size: str
    fast_period: int
    slow_period: int
    atr_period: int
    atr_mult: float
    cooldown: int


class Light(Strategy):
    """core.rs's LightCore as a Nautilus Python strategy."""

    def __init__(self, config: LightConfig) -> None:
        super().__init__(config)
        # The engine updates both EMAs with the mid before on_quote_tick.
        self.fast = ExponentialMovingAverage(config.fast_period, PriceType.MID)
        self.slow = ExponentialMovingAverage(config.slow_period, PriceType.MID)
        # Simple moving average of true ranges, as core.rs (Rust's default).
        self.atr = AverageTrueRange(config.atr_period)
        self.size = Quantity.from_str(config.trade_size)
        self.seen = 0  # quotes seen
        self.last_trade = None  # `seen` at the last trade
        self.net = 0  # net position in trade sizes: -1, 0 or 1
        self.orders = []  # [ts_init, side] of each order submitted
        self.fills = []  # [ts_event, side, last_qty, last_px] of each fill

    def on_start(self) -> None:
        iid = self.config.instrument_id
        self.register_indicator_for_quote_ticks(iid, self.fast)
        self.register_indicator_for_quote_ticks(iid, self.slow)
        self.subscribe_quote_ticks(iid)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.seen += 1
        mid = tick.extract_price(PriceType.MID).as_double()
        self.atr.update_raw(tick.ask_price.as_double(), tick.bid_price.as_double(), mid)
        if not (self.fast.initialized and self.slow.initialized and self.atr.initialized):
            return
        if self.last_trade is not None and self.seen - self.last_trade < self.config.cooldown:
            return
        gap = self.fast.value - self.slow.value
        band = self.config.atr_mult * self.atr.value
        if gap > band and self.net < 1:
            self.net += 1
            side = OrderSide.BUY
        elif gap < -band and self.net > -1:
            self.net -= 1
            side = OrderSide.SELL
        else:
            return
        self.last_trade = self.seen
        order = self.order_factory.market(self.config.instrument_id, side, self.size)
        self.orders.append([order.ts_init, order.side_string()])
        self.submit_order(order)

    def on_order_filled(self, event) -> None:
        side = "BUY" if event.order_side == OrderSide.BUY else "SELL"
        self.fills.append([event.ts_event, side, str(event.last_qty), str(event.last_px)])


def instrument_of(d: dict) -> CurrencyPair:
    """The currency pair of the Rust side's definition, field by field."""
    iid = InstrumentId.from_str(d["id"])
    opt_qty = lambda k: Quantity.from_str(d[k]) if d.get(k) else None  # noqa: E731
    opt_dec = lambda k: Decimal(d[k]) if d.get(k) else None  # noqa: E731
    return CurrencyPair(
        instrument_id=iid,
        raw_symbol=iid.symbol,
        base_currency=Currency.from_str(d["base"]),
        quote_currency=Currency.from_str(d["quote"]),
        price_precision=d["price_precision"],
        size_precision=d["size_precision"],
        price_increment=Price.from_str(d["price_increment"]),
        size_increment=Quantity.from_str(d["size_increment"]),
        lot_size=opt_qty("lot_size"),
        max_quantity=opt_qty("max_quantity"),
        min_quantity=opt_qty("min_quantity"),
        margin_init=opt_dec("margin_init"),
        margin_maint=opt_dec("margin_maint"),
        maker_fee=opt_dec("maker_fee"),
        taker_fee=opt_dec("taker_fee"),
        ts_event=0,
        ts_init=0,
        multiplier=Quantity.from_str(d["multiplier"]),
    )


def read_quotes(path: str, instrument: CurrencyPair) -> list:
    """QuoteTicks of the file; refuses any price or size off the instrument's precision."""
    iid, pp, sp = instrument.id, instrument.price_precision, instrument.size_precision
    ticks = []
    with open(path, newline="") as f:
        for n, (ts_event, ts_init, bid, ask, bid_size, ask_size) in enumerate(csv.reader(f), 1):
            b, a = Price.from_str(bid), Price.from_str(ask)
            bs, az = Quantity.from_str(bid_size), Quantity.from_str(ask_size)
            if (b.precision, a.precision, bs.precision, az.precision) != (pp, pp, sp, sp):
                sys.exit(f"{path}:{n}: precision differs from {iid} ({pp}, {sp})")
            ticks.append(QuoteTick(iid, b, a, bs, az, int(ts_event), int(ts_init)))
    return ticks


def run_once(s: dict, instrument: CurrencyPair, ticks: list):
    """One whole run; returns (wall ns, strategy)."""
    started = time.perf_counter_ns()
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(bypass_logging=True),
        )
    )
    # As the Rust side's engine: netting margin venue, L1 book, one starting balance.
    amount, currency = s["balance"].split()
    engine.add_venue(
        venue=instrument.id.venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(Decimal(amount), Currency.from_str(currency))],
        book_type=BookType.L1_MBP,
    )
    engine.add_instrument(instrument)
    engine.add_data(ticks)
    strategy = Light(LightConfig(instrument_id=instrument.id, **s["strategy"]))
    engine.add_strategy(strategy)
    engine.run()
    engine.dispose()
    return time.perf_counter_ns() - started, strategy


def say(obj: dict) -> None:
    # Nautilus's logging is bypassed; the tag still keeps our lines apart from any other.
    sys.stdout.write("stratbox-peer " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    settings_path, quotes_path = sys.argv[1], sys.argv[2]
    with open(settings_path) as f:
        s = json.load(f)
    instrument = instrument_of(s["instrument"])
    started = time.perf_counter_ns()
    ticks = read_quotes(quotes_path, instrument)
    say(
        {
            "nautilus_trader": nautilus_trader.__version__,
            "python": sys.version.split()[0],
            "quotes": len(ticks),
            "load_ns": time.perf_counter_ns() - started,
        }
    )
    for _ in sys.stdin:
        wall_ns, strategy = run_once(s, instrument, ticks)
        say({"wall_ns": wall_ns, "orders": strategy.orders, "fills": strategy.fills})


if __name__ == "__main__":
    main()
