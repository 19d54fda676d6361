// The backtest report (report.json written by `stratbox backtest`); all ts are UNIX ns (UTC).

export type StatMap = Record<string, number | string | null>;

export interface ReportOrder {
  client_order_id: string;
  instrument_id: string;
  ts_init: number;
  side: string;
  order_type: string;
  quantity: string;
  price: string | null;
  trigger_price?: string | null;
  status: string;
  filled_qty: string;
  reason?: string | null;
}

export interface ReportFill {
  client_order_id: string;
  ts_event: number;
  side: string;
  last_qty: string;
  last_px: string;
  commission?: string;
  instrument_id?: string;
}

export interface ReportStrategy {
  strategy_id: string;
  plugin: {
    name: string;
    version: string;
    sha256?: string;
    params?: Record<string, string>;
    callbacks?: number;
    fuel_total?: number;
    fuel_max?: number;
    peak_memory_bytes?: number;
    orders_accepted_by_gate?: number;
    orders_refused_by_gate?: Record<string, number>;
    fault?: unknown;
    [key: string]: unknown;
  };
  orders: ReportOrder[];
  fills: ReportFill[];
  realized_pnl?: Record<string, string>;
  unrealized_pnl?: Record<string, string>;
}

export interface StateChange {
  ts?: number;
  from?: string;
  to?: string;
  reason?: string;
  [key: string]: unknown;
}

export interface Report {
  format: number;
  events: number;
  first_ts: number;
  last_ts: number;
  instruments: string[];
  portfolio: {
    max_drawdown_pct: number;
    starting_balances: Record<string, string>;
    final_balances: Record<string, string>;
    pnl_stats: Record<string, StatMap>;
    returns_stats: StatMap;
    general_stats: StatMap;
  };
  strategies: ReportStrategy[];
  risk: {
    policy_version: string;
    policy_sha256: string;
    orders_accepted: number;
    refused_by_reason: Record<string, number>;
    venue_rejected_by_reason?: Record<string, number>;
    denied_by_reason?: Record<string, number>;
    state_changes: StateChange[];
  };
  equity: { ts: number; currency: string; balance: number }[];
  prices?: { instrument_id: string; ts: number; open: number; high: number; low: number; close: number }[];
}
