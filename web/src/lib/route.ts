// Hash routing: "#/deployments/dep-1" → ["deployments", "dep-1"].
import { useEffect, useState } from 'react';

function parse(): string[] {
  const h = window.location.hash.replace(/^#\/?/, '');
  const path = h.split('?')[0];
  return path.split('/').filter(Boolean).map(decodeURIComponent);
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const href = (...parts: string[]): string => '#/' + parts.map(encodeURIComponent).join('/');

export function navigate(...parts: string[]): void {
  window.location.hash = href(...parts);
}
