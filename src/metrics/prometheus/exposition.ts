import { Registry, type Metric } from 'prom-client';
import type { Family } from './families.ts';

export const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_TEXT = Registry.OPENMETRICS_CONTENT_TYPE;

/** The q of the best `Accept` entry naming a media type (0: not acceptable); `wildcards`: ranges like text/any too. */
function quality(accept: string, type: string, wildcards: boolean): number {
  let best = 0;
  for (const entry of accept.split(',')) {
    const [range = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (range !== type && !(wildcards && (range === `${type.split('/')[0]}/*` || range === '*/*'))) continue;
    const q = parameters.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value)) best = Math.max(best, value);
  }
  return best;
}

/** OpenMetrics when the scraper names it and prefers it (Prometheus ≥ 2.5 does); the 0.0.4 text format otherwise. */
export function negotiate(accept: string | undefined): typeof PROMETHEUS_TEXT | typeof OPENMETRICS_TEXT {
  if (!accept) return PROMETHEUS_TEXT;
  const openMetrics = quality(accept, 'application/openmetrics-text', false);
  return openMetrics > 0 && openMetrics >= quality(accept, 'text/plain', true) ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
}

/**
 * prom-client's OpenMetrics registry renames every counter it renders (`x_total` → `x`) in place,
 * which would break the next 0.0.4 scrape of the same metric: the OpenMetrics page renders views.
 */
function openMetricsView(metric: Family): Family {
  const view: Family = { ...metric, get: async () => ({ ...(await metric.get()), name: view.name }) };
  return view;
}

/** prom-client writes a NaN sample as "Nan" (lib/util.js); both formats spell it "NaN". */
const NAN_SAMPLE = /^([^#\n][^\n]*) Nan$/gm;

/** Renders the service's registry plus this scrape's families in the negotiated format. */
export async function render(base: Registry, families: readonly Family[], contentType: ReturnType<typeof negotiate>): Promise<string> {
  const page = new Registry<typeof contentType>();
  page.setContentType(contentType);
  const openMetrics = contentType === OPENMETRICS_TEXT;
  // prom-client's metrics have name, help, type and get() too, which its typings do not declare;
  // a registry renders anything that has them.
  const own = base.getMetricsAsArray() as unknown as Family[];
  for (const metric of [...own, ...families]) {
    page.registerMetric((openMetrics ? openMetricsView(metric) : metric) as unknown as Metric);
  }
  return (await page.metrics()).replace(NAN_SAMPLE, '$1 NaN');
}
