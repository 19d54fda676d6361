// The submit of a form or a confirmation: busy while the action runs, its error (an
// ApiError's message) or its result. Starting again clears both.
import { useState, type FormEvent } from 'react';
import { errorText } from '../api/client';

export interface Submit<T> {
  busy: boolean;
  error: string | null;
  /** What the last successful action returned. */
  result: T | null;
  /** Runs the action; true when it succeeded. */
  run: () => Promise<boolean>;
  /** A form's onSubmit: no page load, then run(). */
  onSubmit: (e: FormEvent) => void;
}

export function useSubmit<T>(action: () => Promise<T>): Submit<T> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<T | null>(null);

  const run = async (): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await action();
      setResult(() => r);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void run();
  };

  return { busy, error, result, run, onSubmit };
}
