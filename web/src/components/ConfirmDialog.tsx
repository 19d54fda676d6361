// A modal confirmation with an optional required reason; the action's error stays shown.
import { useState, type ReactNode } from 'react';
import { useSubmit } from '../state/useSubmit';

interface Props {
  title: string;
  confirmLabel: string;
  reasonLabel?: string;
  reasonTestId?: string;
  requireReason?: boolean;
  danger?: boolean;
  disabled?: boolean;
  children?: ReactNode;
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}

export function ConfirmDialog({ title, confirmLabel, reasonLabel = 'Reason', reasonTestId = 'reason-input', requireReason, danger, disabled, children, onConfirm, onClose }: Props) {
  const [reason, setReason] = useState('');
  const { busy, error, run } = useSubmit(() => onConfirm(reason.trim()));
  const blocked = busy || disabled === true || (requireReason === true && reason.trim() === '');

  const confirm = async () => {
    if (await run()) onClose();
  };

  return (
    <div className="overlay">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title">
        <h2 id="dialog-title">{title}</h2>
        {children}
        {requireReason !== undefined && (
          <label className="field">
            {reasonLabel}
            {requireReason ? ' (required)' : ''}
            <input
              data-testid={reasonTestId}
              value={reason}
              autoFocus
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className={danger ? 'danger' : 'primary'}
            data-testid="confirm-button"
            disabled={blocked}
            onClick={() => void confirm()}
          >
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
