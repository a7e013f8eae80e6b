/** Command-line options the doctor and the smoke check share, checked with a clear message. */
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

/** The window for the checks that compare figures: plain digits, 1 to 8760, default 24 (as the API). */
export function hoursOption(raw: string | undefined): number {
  if (raw === undefined) return 24;
  if (!/^[1-9][0-9]{0,3}$/.test(raw) || Number(raw) > 8760) throw new Error(`--hours must be a whole number from 1 to 8760 (got ${JSON.stringify(raw)})`);
  return Number(raw);
}
