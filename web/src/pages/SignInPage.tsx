// Sign-in with an API token: POST /v1/session sets the HttpOnly session cookie.
import { useState, type FormEvent } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { Session } from '../api/types';

export function SignInPage({ onSignedIn, bootError }: { onSignedIn: (s: Session) => void; bootError: string | null }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(bootError);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api.signIn(token.trim());
      setToken('');
      onSignedIn(s);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <h1>stratbox console</h1>
      <form onSubmit={(e) => void submit(e)} className="card">
        <label className="field">
          API token
          <input
            data-testid="signin-token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="sbx_…"
          />
        </label>
        {error && (
          <p className="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" data-testid="signin-submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
