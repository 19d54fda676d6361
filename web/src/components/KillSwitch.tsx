// The service-wide kill switch: GET /v1/trading for the state, POST /v1/halt|resume {reason}.
import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { TradingView } from '../api/types';
import { can } from '../lib/roles';
import { useSession } from '../state/session';
import { ConfirmDialog } from './ConfirmDialog';
import { Badge, ErrorLine } from './Status';

export function KillSwitch() {
  const session = useSession();
  const [state, setState] = useState<TradingView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'halt' | 'resume' | null>(null);

  const load = useCallback(() => {
    api
      .trading()
      .then((t) => {
        setState(t);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  }, []);

  useEffect(() => {
    load();
    const t = window.setInterval(load, 5000);
    return () => window.clearInterval(t);
  }, [load]);

  const operate = can.operate(session.role);
  return (
    <div className="killswitch">
      <span>
        Service trading state:{' '}
        {state ? <Badge value={state.trading_state} testId="service-state" /> : <span className="muted">unknown</span>}
      </span>
      {operate && state?.trading_state !== 'HALTED' && (
        <button type="button" className="danger" data-testid="kill-switch" onClick={() => setDialog('halt')}>
          Halt all trading
        </button>
      )}
      {operate && state?.trading_state === 'HALTED' && (
        <button type="button" className="primary" data-testid="service-resume" onClick={() => setDialog('resume')}>
          Resume all trading
        </button>
      )}
      <ErrorLine error={error} />
      {dialog && (
        <ConfirmDialog
          title={dialog === 'halt' ? 'Halt every deployment of the service?' : 'Resume trading service-wide?'}
          confirmLabel={dialog === 'halt' ? 'Halt all' : 'Resume all'}
          danger={dialog === 'halt'}
          requireReason
          onClose={() => setDialog(null)}
          onConfirm={async (reason) => {
            await (dialog === 'halt' ? api.haltAll(reason) : api.resumeAll(reason));
            load();
          }}
        >
          <p>
            {dialog === 'halt'
              ? 'Every deployment refuses new orders and cancels its open orders until trading is resumed.'
              : 'Deployments halted on their own stay halted.'}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
