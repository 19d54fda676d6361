// The service-wide kill switch: GET /v1/trading for the state, POST /v1/halt|resume {reason}.
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import { can } from '../lib/roles';
import { useSession } from '../state/session';
import { useResource } from '../state/useResource';
import { ConfirmDialog } from './ConfirmDialog';
import { Badge, ErrorLine } from './Status';

export function KillSwitch() {
  const session = useSession();
  const { data: state, error, reload: load } = useResource(() => api.trading(), []);
  const [dialog, setDialog] = useState<'halt' | 'resume' | null>(null);

  useEffect(() => {
    const t = window.setInterval(() => void load(), 5000);
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
            void load();
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
