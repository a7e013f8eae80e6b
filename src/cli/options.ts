import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Band } from '../analysis/band.ts';
import { TMDB_DEFAULTS } from '../schemas/analysis.ts';
import { MAX_HOURS } from '../schemas/common.ts';

/** The service to check (doctor, smoke): an http(s) URL, with a clear message otherwise. */
export function urlOption(raw: string | undefined): string {
  if (raw === undefined) throw new Error('--url http://host:port is required');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--url must be an http(s) URL such as http://127.0.0.1:3000 (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must start with http:// or https:// (got ${raw})`);
  return url.href;
}

/** Options as node:util parses them, with a usage line in every error. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(options: T, usage: string, args = process.argv.slice(2)) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new Error(`${(error as Error).message.split('\n')[0]} ${usage}`);
  }
}

/** A whole number written in plain digits within [min, max], as the HTTP API accepts them. */
export function integerOption(name: string, raw: string | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

/** The window for the checks that compare figures: as the API, 1 to 8760, default 24. */
export const hoursOption = (raw: string | undefined): number => integerOption('hours', raw, 1, MAX_HOURS, 24);

export const BAND_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  hours: { type: 'string' },
} as const;

/** --from and --to (0–100, from < to) and --hours (1–8760), with the API's defaults. */
export function bandOptions(values: { from?: string; to?: string; hours?: string }): { band: Band; hours: number } {
  const from = integerOption('from', values.from, 0, 100, TMDB_DEFAULTS.from);
  const to = integerOption('to', values.to, 0, 100, TMDB_DEFAULTS.to);
  if (from >= to) throw new Error(`--from must be less than --to (got --from ${from} --to ${to})`);
  return { band: { from, to }, hours: integerOption('hours', values.hours, 1, MAX_HOURS, TMDB_DEFAULTS.hours) };
}
