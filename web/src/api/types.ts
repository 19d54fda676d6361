// Shapes of the stratbox HTTP API (see /openapi.json of a running server and the console
// contract). Fields the server is still adding are optional.
import type { ReportOrder } from '../report/types';

/** An order as the report and the open-orders figures show it. */
export type OrderRow = ReportOrder;

export type Role = 'author' | 'operator' | 'auditor' | 'admin';

export interface Session {
  name: string;
  role: Role;
  csrf: string;
}

export interface PluginView {
  digest: string;
  name: string;
  version: string;
  size: number;
  inspection: Record<string, unknown>;
  uploaded_by: string;
  uploaded_ns: number;
}

export interface GrantChange {
  what: string;
  capability: string | null;
  from: string;
  to: string;
  widens: boolean;
}

export interface CapabilityScope {
  instruments?: string[];
  signal_types?: string[];
  source_models?: string[];
  [key: string]: unknown;
}

export interface GrantSpec {
  capabilities: Record<string, CapabilityScope>;
  limits?: Record<string, number | null>;
  live_venues?: string[];
}

export interface GrantView {
  id: string;
  plugin: string;
  digest: string;
  spec: GrantSpec;
  status: 'pending' | 'approved' | 'rejected';
  reason: string;
  diff: GrantChange[];
  requested_by: string;
  requested_ns: number;
  decided_by: string | null;
  decided_ns: number | null;
  decision_note: string | null;
}

export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';

export interface Figures {
  fills?: number;
  callbacks?: number;
  fuel_total?: number;
  orders_refused?: number;
  signals_received?: number;
  realized_pnl?: Record<string, string>;
  unrealized_pnl?: Record<string, string>;
  /** At most 50 of the open orders (older servers: absent); `open_orders_total` counts all. */
  open_orders?: OrderRow[];
  open_orders_total?: number;
}

export interface DeploymentView {
  id: string;
  plugin: string;
  digest: string;
  grant: string;
  status: 'running' | 'finished' | 'stopped' | 'failed' | 'interrupted';
  params: Record<string, string>;
  created_by: string;
  events_total: number;
  events_fed: number;
  sim_ts: number;
  trading_state: TradingState;
  outcome: unknown;
  figures?: Figures;
  last_seq?: number;
  last_event_ns?: number;
  /** `paper` or `live`; `venue` names the real venue of a live deployment (none: the sandbox venue). */
  session_kind?: 'paper' | 'live' | null;
  venue?: string | null;
}

export interface FillEvent {
  kind: 'fill';
  order_id: string;
  instrument_id: string;
  side: 'BUY' | 'SELL';
  price: string;
  quantity: string;
  ts_event: number;
}

export interface ProgressEvent {
  kind: 'progress';
  events: number;
  total: number;
  sim_ts: number;
  fills: number;
  callbacks: number;
  fuel_total: number;
  orders_refused: number;
  signals_received: number;
  realized_pnl: Record<string, string>;
  unrealized_pnl: Record<string, string>;
  /** At most 50 of the open orders (older servers: absent); `open_orders_total` counts all. */
  open_orders?: OrderRow[];
  open_orders_total?: number;
}

/** A signal handed to the deployment: delivered to its plugin, or a dead letter. */
export interface SignalDeliveryEvent {
  kind: 'signal-delivery';
  signal_id: string;
  /** The signal record's seq (GET /v1/signals). */
  seq: number;
  delivered: boolean;
  reason: string | null;
  event_ts: number | null;
}

export interface OtherEvent {
  kind: string;
  [key: string]: unknown;
}

export type SessionEvent = FillEvent | ProgressEvent | SignalDeliveryEvent | OtherEvent;

export interface StreamEvent {
  deployment: string;
  seq: number;
  event: SessionEvent;
}

export interface JobMessage {
  job: string;
  seq: number;
  event: { kind: 'job-progress'; done: number; total: number } | { kind: 'job-ended'; status: JobStatus };
}

export type JobStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted';

export interface JobView {
  id: string;
  kind: 'backtest' | 'sweep';
  status: JobStatus;
  progress: { done: number; total: number };
  request: Record<string, unknown>;
  created_by: string;
  created_ns: number;
  started_ns?: number;
  ended_ns?: number;
  error?: string;
  summary?: Record<string, unknown>;
}

export interface SweepRow {
  rank: number;
  params: Record<string, string>;
  pnl?: number | string | null;
  max_drawdown_pct?: number | null;
  sharpe?: number | null;
  orders?: number | null;
  error?: string;
  [key: string]: unknown;
}

export interface SweepResult {
  params: string[];
  rows: SweepRow[];
}

export interface TradingView {
  trading_state: 'ACTIVE' | 'HALTED';
  [key: string]: unknown;
}

export interface AuditRecord {
  seq: number;
  ts_ns: number;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
  prev_hash: string;
  hash: string;
}

export interface AuditVerify {
  ok: boolean;
  records: number;
  last_hash?: string;
  head?: unknown;
  newest_checkpoint?: unknown;
  public_key?: string;
}

export interface SignalsOutcome {
  accepted: number;
  deployments: number;
  refused: unknown[];
  /** The intake records' seqs (GET /v1/signals), in posting order. */
  intake?: number[];
}

/** GET /v1/signals: one posted signal, newest first. */
export interface SignalRecord {
  seq: number;
  received_ns: number;
  actor: string;
  signal_id: string | null;
  signal_type: string | null;
  instrument_id: string | null;
  source_model: string | null;
  accepted: boolean;
  /** Why validation refused it. */
  reason: string | null;
  /** Deployment ids it was handed to. */
  handed_to: string[];
  /** Running deployments it was not handed to (e.g. their breaker is open). */
  skipped: { deployment: string; reason: string }[];
}

/** GET /v1/signals/dead-letters: a signal a deployment's plugin did not get, newest first. */
export interface DeadLetter {
  seq: number;
  ts_ns: number;
  deployment: string;
  plugin: string;
  signal_id: string;
  stage: 'delivery' | 'breaker' | 'handoff';
  reason: string;
}

export type Breaker = { state: 'closed'; failures: number } | { state: 'open'; until_ns: number } | { state: 'half-open' };

/** GET /v1/signals/breakers: a deployment consuming signals and its circuit breaker. */
export interface SignalConsumer {
  deployment: string;
  plugin: string;
  /** The deployment's status. */
  status: string;
  breaker: Breaker;
  delivered: number;
  failed: number;
  skipped_open: number;
  last_failure: string | null;
  changed_ns: number | null;
}

/** POST /v1/deployments/{id}/flatten */
export interface FlattenOutcome {
  deployment: string;
  changed: boolean;
  trading_state: string;
  flatten: boolean;
  /** Set when the audit record could not be written (the flatten applies anyway). */
  audit_error?: string | null;
}

/** GET /v1/translations: the last reported state of a strategy definition, newest first. */
export interface TranslationView {
  /** File path or URL of the definition. */
  origin: string;
  definition_id: string;
  status: 'translated' | 'failed';
  definition_sha256: string | null;
  version: string | null;
  plugin: string | null;
  component_sha256: string | null;
  error: string | null;
  updated_ns: number;
  reported_by: string;
}

/** GET /v1/deployments/{id}/risk: figures are decimal text in the policy currency. */
export interface RiskFigures {
  gross_exposure: string;
  open_orders: number;
  pnl: string;
}

export interface RiskView {
  policy_version: string;
  policy_sha256: string;
  currency: string;
  limits: Record<string, unknown>;
  global: Record<string, unknown>;
  flatten_on_halt: boolean;
  usage: RiskFigures;
  service_usage: RiskFigures;
  service_drawdown: string;
  service_daily_loss: string;
  trading_state: string;
  trading_reason: string;
}
