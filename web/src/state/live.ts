// The live view of every deployment: its events applied exactly once and in order
// (key `deployment:seq`, last seq per deployment), fed by GET .../events and the
// /v1/stream WebSocket, which reconnects with exponential backoff (at most 5 s) and then
// catches up every known deployment from its last seq (also on a `lagged` message).
import { api } from '../api/endpoints';
import type { DeploymentView, FillEvent, JobMessage, ProgressEvent, StreamEvent } from '../api/types';

export type WsStatus = 'connected' | 'reconnecting';

export interface DeploymentLive {
  events: StreamEvent[];
  applied: Set<string>;
  lastSeq: number;
  fills: FillEvent[];
  position: Map<string, number>;
  progress: ProgressEvent | null;
  faults: StreamEvent[];
  lastEventTs: number;
}

const PAGE = 5000;
const MAX_BACKOFF_MS = 5000;
const REFRESH_MS = 3000;

const eventTs = (e: StreamEvent): number => {
  const ev = e.event as Record<string, unknown>;
  for (const k of ['ts_event', 'sim_ts', 'event_ts', 'ts']) {
    if (typeof ev[k] === 'number' && (ev[k] as number) > 0) return ev[k] as number;
  }
  return 0;
};

function emptyLive(): DeploymentLive {
  return { events: [], applied: new Set(), lastSeq: 0, fills: [], position: new Map(), progress: null, faults: [], lastEventTs: 0 };
}

class LiveStore {
  deployments = new Map<string, DeploymentView>();
  live = new Map<string, DeploymentLive>();
  wsStatus: WsStatus = 'reconnecting';
  version = 0;
  error: string | null = null;

  private listeners = new Set<() => void>();
  private jobListeners = new Set<(m: JobMessage) => void>();
  private eventListeners = new Set<(e: StreamEvent) => void>();
  private catching = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private refresher: number | undefined;
  private running = false;
  private withEvents = false;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  onJob(fn: (m: JobMessage) => void): () => void {
    this.jobListeners.add(fn);
    return () => this.jobListeners.delete(fn);
  }

  /** Every deployment event once it is applied (from the socket or a catch-up). */
  onEvent(fn: (e: StreamEvent) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  private changed(): void {
    this.version += 1;
    for (const fn of this.listeners) fn();
  }

  start(withEvents: boolean): void {
    if (this.running) return;
    this.running = true;
    this.withEvents = withEvents;
    void this.refresh();
    this.refresher = window.setInterval(() => void this.refresh(), REFRESH_MS);
    if (withEvents) this.connect();
  }

  stop(): void {
    this.running = false;
    window.clearInterval(this.refresher);
    window.clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.deployments.clear();
    this.live.clear();
    this.wsStatus = 'reconnecting';
    this.changed();
  }

  /** The deployment list; new deployments are caught up from seq 0. */
  async refresh(): Promise<void> {
    try {
      const list = await api.deployments();
      if (!this.running) return;
      this.deployments = new Map(list.map((d) => [d.id, d]));
      this.error = null;
      if (this.withEvents) {
        for (const d of list) {
          const known = this.live.get(d.id);
          const behind = d.last_seq !== undefined ? d.last_seq > (known?.lastSeq ?? 0) : !known;
          if (behind) void this.catchUp(d.id);
        }
      }
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.changed();
  }

  liveOf(id: string): DeploymentLive {
    let l = this.live.get(id);
    if (!l) {
      l = emptyLive();
      this.live.set(id, l);
    }
    return l;
  }

  /** Fetches every event after the last applied one; one fetch at a time per deployment. */
  catchUp(id: string): Promise<void> {
    const running = this.catching.get(id);
    if (running) {
      this.again.add(id);
      return running;
    }
    const p = (async () => {
      try {
        for (;;) {
          const after = this.liveOf(id).lastSeq;
          const batch = await api.events(id, after, PAGE);
          if (!this.running) return;
          let n = 0;
          // The server's log is authoritative: a jump at the start of a batch means the
          // older events were dropped from its bounded log, not that they are coming.
          for (const e of batch) if (this.apply(e, true)) n += 1;
          if (n > 0) this.changed();
          if (batch.length < PAGE) break;
        }
      } catch (e) {
        this.error = e instanceof Error ? e.message : String(e);
        this.changed();
      } finally {
        this.catching.delete(id);
        if (this.again.delete(id) && this.running) void this.catchUp(id);
      }
    })();
    this.catching.set(id, p);
    return p;
  }

  /** Applies one event if it is the next of its deployment (or, from the server's log,
   * the oldest it still keeps); true when applied. */
  private apply(e: StreamEvent, fromLog = false): boolean {
    const l = this.liveOf(e.deployment);
    const key = `${e.deployment}:${e.seq}`;
    if (l.applied.has(key) || e.seq <= l.lastSeq) return false;
    if (e.seq !== l.lastSeq + 1 && !fromLog) {
      // A gap: fetch what is missing (this event comes with it).
      void this.catchUp(e.deployment);
      return false;
    }
    l.applied.add(key);
    l.lastSeq = e.seq;
    l.events.push(e);
    const ts = eventTs(e);
    if (ts > 0) l.lastEventTs = ts;
    const ev = e.event;
    if (ev.kind === 'fill') {
      const f = ev as FillEvent;
      l.fills.push(f);
      const q = Number.parseFloat(f.quantity) * (f.side === 'BUY' ? 1 : -1);
      l.position.set(f.instrument_id, (l.position.get(f.instrument_id) ?? 0) + q);
    } else if (ev.kind === 'progress') {
      l.progress = ev as ProgressEvent;
    } else if (ev.kind === 'fault') {
      l.faults.push(e);
    } else if (ev.kind === 'ended' || ev.kind === 'swapped' || ev.kind === 'rolled-back' || ev.kind === 'committed') {
      void this.refresh();
    }
    for (const fn of this.eventListeners) fn(e);
    return true;
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.wsStatus = 'connected';
      this.changed();
      void this.refresh();
      for (const id of this.live.keys()) void this.catchUp(id);
    };
    ws.onmessage = (m) => this.onMessage(m.data);
    ws.onclose = () => {
      this.ws = null;
      this.wsStatus = 'reconnecting';
      this.changed();
      if (!this.running) return;
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt);
      this.attempt += 1;
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.kind === 'lagged') {
      void this.refresh();
      for (const id of this.live.keys()) void this.catchUp(id);
      return;
    }
    if (typeof msg.job === 'string') {
      for (const fn of this.jobListeners) fn(msg as unknown as JobMessage);
      return;
    }
    if (typeof msg.deployment === 'string' && typeof msg.seq === 'number') {
      const e = msg as unknown as StreamEvent;
      if (!this.deployments.has(e.deployment)) void this.refresh();
      if (this.apply(e)) this.changed();
    }
  }

  get socketOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }
}

export const live = new LiveStore();
