// Starting a backtest (POST /v1/backtests) or a parameter sweep (POST /v1/sweeps).
import { useState } from 'react';
import { api } from '../../api/endpoints';
import type { JobView } from '../../api/types';
import { PluginOptions } from '../../components/PluginOptions';
import { ErrorLine, Section } from '../../components/Status';
import { useResource } from '../../state/useResource';
import { useSubmit } from '../../state/useSubmit';
import { parseParams } from './parseParams';

export function JobForm({ onStarted }: { onStarted: (job: JobView) => void }) {
  const plugins = useResource(() => api.plugins(), []);
  const [kind, setKind] = useState<'backtest' | 'sweep'>('backtest');
  const [plugin, setPlugin] = useState('');
  const [source, setSource] = useState<'data' | 'catalog'>('data');
  const [data, setData] = useState('');
  const [instrument, setInstrument] = useState('');
  const [params, setParams] = useState('');
  const [policy, setPolicy] = useState('');
  const [balance, setBalance] = useState('');

  const submit = useSubmit(async () => {
    const parsed = parseParams(params, kind === 'sweep');
    const body: Record<string, unknown> = { plugin, params: parsed.params, [source]: data.trim() };
    if (instrument.trim()) body.instrument = instrument.trim();
    if (policy.trim()) body.risk_policy = policy;
    if (balance.trim()) body.balance = balance.trim();
    if (kind === 'sweep') {
      if (Object.keys(parsed.grid).length === 0) throw new Error('a sweep needs at least one parameter with several values (k=a,b,c)');
      body.grid = parsed.grid;
    }
    const job = await api.startJob(kind === 'sweep' ? 'sweeps' : 'backtests', body);
    onStarted(job);
    return job;
  });

  return (
    <Section title="Run a backtest or a sweep">
      <form onSubmit={submit.onSubmit} className="form-grid">
        <label className="field">
          Kind
          <select data-testid="bt-kind" value={kind} onChange={(e) => setKind(e.target.value as 'backtest' | 'sweep')}>
            <option value="backtest">backtest</option>
            <option value="sweep">sweep</option>
          </select>
        </label>
        <label className="field">
          Plugin
          <select data-testid="bt-plugin" value={plugin} onChange={(e) => setPlugin(e.target.value)}>
            <PluginOptions plugins={plugins.data ?? []} placeholder="Choose a plugin" />
          </select>
        </label>
        <label className="field">
          Data source
          <select value={source} onChange={(e) => setSource(e.target.value as 'data' | 'catalog')}>
            <option value="data">file under the data directory</option>
            <option value="catalog">catalog folder under the data directory</option>
          </select>
        </label>
        <label className="field">
          {source === 'data' ? 'Data file' : 'Catalog folder'}
          <input data-testid="bt-data" value={data} onChange={(e) => setData(e.target.value)} placeholder="fxcm/gbpusd-m1-bid-2012.csv" />
        </label>
        <label className="field">
          Instrument (optional)
          <input value={instrument} onChange={(e) => setInstrument(e.target.value)} placeholder="GBP/USD.FXCM" />
        </label>
        <label className="field">
          Starting balance (optional)
          <input value={balance} onChange={(e) => setBalance(e.target.value)} placeholder="100000 USD" />
        </label>
        <label className="field wide">
          {kind === 'sweep' ? 'Parameters (k=v, or k=a,b,c to sweep over k; one per line)' : 'Parameters (k=v, one per line)'}
          <textarea data-testid="bt-params" rows={5} value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        </label>
        <label className="field wide">
          Risk policy (TOML, optional)
          <textarea rows={5} value={policy} onChange={(e) => setPolicy(e.target.value)} spellCheck={false} />
        </label>
        <div className="wide">
          <button type="submit" className="primary" data-testid="bt-submit" disabled={submit.busy || !plugin || !data.trim()}>
            Start {kind}
          </button>
        </div>
      </form>
      <ErrorLine error={plugins.error} />
      <ErrorLine error={submit.error} />
    </Section>
  );
}
