// The params textarea: `k=v` per line; for a sweep `k=a,b,c` makes a grid over k.

export interface ParsedParams {
  params: Record<string, string>;
  grid: Record<string, (string | number)[]>;
}

const value = (s: string): string | number => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s);

export function parseParams(text: string, sweep: boolean): ParsedParams {
  const params: Record<string, string> = {};
  const grid: Record<string, (string | number)[]> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`line ${i + 1}: write key=value`);
    const key = line.slice(0, eq).trim();
    const rest = line.slice(eq + 1).trim();
    const values = rest.split(',').map((v) => v.trim()).filter((v) => v !== '');
    if (sweep && values.length > 1) grid[key] = values.map(value);
    else params[key] = rest;
  });
  return { params, grid };
}
