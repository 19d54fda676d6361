// Re-renders a component on every change of the live store.
import { useSyncExternalStore } from 'react';
import { live } from './live';

export function useLive(): typeof live {
  useSyncExternalStore(live.subscribe, live.getVersion);
  return live;
}
