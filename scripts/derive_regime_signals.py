#!/usr/bin/env python3
"""Derive regime signals from the bundled BTC perpetual minute bars (standard library only).

Once per hour of bar time, from the bars up to and including that bar (no look-ahead):

    momentum    log return over the last 4 hours (240 bars)
    volatility  realised volatility of 1-minute log returns over the last 24 hours
    z           momentum / (volatility * sqrt(240))      (volatility-scaled momentum)

    label       "bull" if z > 0.5, "bear" if z < -0.5, else "neutral"
    confidence  min(1, |z| / 2), rounded to 4 decimals

The first signal comes once 24 hours of bars exist. Every number written is rounded to a
fixed number of decimals, so reruns produce the same bytes. Output: one JSON object per
line in the signal schema (signal_id, signal_type, instrument_id, timestamp in ns,
confidence, value, metadata, source_model), ordered by timestamp.

    python3 scripts/derive_regime_signals.py \
        data/btc-perp/btc-perp-20211231-20220201_1m.csv \
        data/signals/btc-perp-regimes-2022-01.jsonl
"""

import csv
import json
import math
import sys
from collections import deque
from datetime import datetime, timezone

INSTRUMENT = "BTCUSDT-PERP.BINANCE"
SOURCE_MODEL = "rv-momentum-regime/1"
MOMENTUM_BARS = 240
VOL_BARS = 1440
EVERY = 60
THRESHOLD = 0.5


def ts_ns(text: str) -> int:
    t = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1_000


def main(src: str, dst: str) -> None:
    closes: deque = deque(maxlen=MOMENTUM_BARS + 1)
    returns: deque = deque(maxlen=VOL_BARS)
    lines = []
    prev = None
    with open(src, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            close = float(row["close"])
            if prev is not None:
                returns.append(math.log(close / prev))
            prev = close
            closes.append(close)
            if len(returns) < VOL_BARS or (i + 1) % EVERY != 0:
                continue
            mean = sum(returns) / len(returns)
            var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
            vol = math.sqrt(var)
            momentum = math.log(closes[-1] / closes[0])
            z = momentum / (vol * math.sqrt(MOMENTUM_BARS)) if vol > 0 else 0.0
            label = "bull" if z > THRESHOLD else "bear" if z < -THRESHOLD else "neutral"
            ts = ts_ns(row["timestamp"])
            lines.append(
                {
                    "signal_id": f"rv-regime-{ts}",
                    "signal_type": "REGIME_PREDICTION",
                    "instrument_id": INSTRUMENT,
                    "timestamp": ts,
                    "confidence": round(min(1.0, abs(z) / 2.0), 4),
                    "value": label,
                    "metadata": {
                        "momentum_4h": f"{momentum:.6f}",
                        "realized_vol_1m_24h": f"{vol:.8f}",
                        "z": f"{z:.4f}",
                        "bar_close": row["timestamp"],
                    },
                    "source_model": SOURCE_MODEL,
                }
            )
    with open(dst, "w", newline="\n") as out:
        for line in lines:
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"{len(lines)} signals -> {dst}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
