import t from 'tap';
import { Gauge, Registry } from 'prom-client';
import { OPENMETRICS_TEXT, PROMETHEUS_TEXT, render } from '../src/metrics/prometheus/exposition.ts';

// A gauge with no value to report yet (e.g. an event-loop lag before its first sample) is NaN.
t.test('a NaN sample is written "NaN" in both formats, not prom-client\'s "Nan"', async (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'job_metrics_test_ratio', help: 'a ratio with nothing to divide yet', labelNames: ['worker'], registers: [registry] });
  gauge.set({ worker: 'ends with Nan' }, Number.NaN);
  for (const format of [PROMETHEUS_TEXT, OPENMETRICS_TEXT]) {
    const page = await render(registry, [], format);
    t.match(page, /^job_metrics_test_ratio\{worker="ends with Nan"\} NaN$/m, format);
    t.notMatch(page, / Nan$/m, format);
  }
});
