// One function per endpoint the console calls.
import { del, get, post, put, request } from './client';
import type {
  AuditRecord,
  AuditVerify,
  DeadLetter,
  DeploymentView,
  FlattenOutcome,
  GrantView,
  JobView,
  PluginView,
  RiskView,
  Session,
  SignalConsumer,
  SignalRecord,
  SignalsOutcome,
  StreamEvent,
  SweepResult,
  TradingView,
  TranslationView,
} from './types';
import type { Report } from '../report/types';

const q = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(
    Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  ).toString();

export const api = {
  session: () => get<Session>('/v1/session'),
  signIn: (token: string) => post<Session>('/v1/session', { token }),
  signOut: () => del<unknown>('/v1/session'),

  plugins: () => get<PluginView[]>('/v1/plugins'),
  uploadPlugin: (bytes: ArrayBuffer) =>
    request<PluginView>('POST', '/v1/plugins', { raw: bytes, contentType: 'application/wasm' }),

  grants: () => get<GrantView[]>('/v1/grants'),
  requestGrant: (digest: string, reason: string, grant: unknown) =>
    post<GrantView>('/v1/grants', { digest, reason, grant }),
  decideGrant: (id: string, decision: 'approve' | 'reject', note: string) =>
    post<GrantView>(`/v1/grants/${encodeURIComponent(id)}/${decision}`, { note }),

  deployments: () => get<DeploymentView[]>('/v1/deployments'),
  deployment: (id: string) => get<DeploymentView>(`/v1/deployments/${encodeURIComponent(id)}`),
  events: (id: string, after: number, limit: number) =>
    get<StreamEvent[]>(`/v1/deployments/${encodeURIComponent(id)}/events?${q({ after, limit })}`),
  stop: (id: string) => del<unknown>(`/v1/deployments/${encodeURIComponent(id)}`),
  halt: (id: string, reason: string) => post<unknown>(`/v1/deployments/${encodeURIComponent(id)}/halt`, { reason }),
  resume: (id: string, reason: string) =>
    post<unknown>(`/v1/deployments/${encodeURIComponent(id)}/resume`, { reason }),
  flatten: (id: string, reason: string) =>
    post<FlattenOutcome>(`/v1/deployments/${encodeURIComponent(id)}/flatten`, { reason }),
  swap: (id: string, plugin: string, grant: string) =>
    put<unknown>(`/v1/deployments/${encodeURIComponent(id)}/plugin`, { plugin, grant }),

  risk: (id: string) => get<RiskView>(`/v1/deployments/${encodeURIComponent(id)}/risk`),
  trading: () => get<TradingView>('/v1/trading'),
  haltAll: (reason: string) => post<unknown>('/v1/halt', { reason }),
  resumeAll: (reason: string) => post<unknown>('/v1/resume', { reason }),

  postSignals: (signals: unknown) => post<SignalsOutcome>('/v1/signals', signals),
  /** Newest first; `before`: only records with a smaller seq (older). */
  signals: (limit: number, before?: number) => get<SignalRecord[]>(`/v1/signals?${q({ limit, before })}`),
  deadLetters: (limit: number, before?: number) =>
    get<DeadLetter[]>(`/v1/signals/dead-letters?${q({ limit, before })}`),
  breakers: () => get<SignalConsumer[]>('/v1/signals/breakers'),

  translations: () => get<TranslationView[]>('/v1/translations'),

  audit: (after: number, limit: number) => get<AuditRecord[]>(`/v1/audit?${q({ after, limit })}`),
  auditVerify: () => get<AuditVerify>('/v1/audit/verify'),

  jobs: (kind: 'backtests' | 'sweeps') => get<JobView[]>(`/v1/${kind}`),
  job: (kind: 'backtests' | 'sweeps', id: string) => get<JobView>(`/v1/${kind}/${encodeURIComponent(id)}`),
  startJob: (kind: 'backtests' | 'sweeps', body: unknown) => post<JobView>(`/v1/${kind}`, body),
  cancelJob: (kind: 'backtests' | 'sweeps', id: string) => del<JobView>(`/v1/${kind}/${encodeURIComponent(id)}`),
  report: (id: string) => get<Report>(`/v1/backtests/${encodeURIComponent(id)}/report`),
  reportHtmlUrl: (id: string) => `/v1/backtests/${encodeURIComponent(id)}/report.html`,
  sweepResult: (id: string) => get<SweepResult>(`/v1/sweeps/${encodeURIComponent(id)}/result`),
};

export const jobCollection = (id: string): 'backtests' | 'sweeps' => (id.startsWith('sw-') ? 'sweeps' : 'backtests');
