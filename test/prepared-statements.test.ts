import t from 'tap';
import { rankedCountersQuery, workerCountersQuery } from '../src/metrics/prometheus/counters-query.ts';
import { metricsStatements } from '../src/metrics/warm-up.ts';
import { workersQuery } from '../src/metrics/workers-query.ts';
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { windowSizeQuery } from '../src/metrics/rollup/window-size-query.ts';
import { timeseriesQuery } from '../src/metrics/timeseries-query.ts';
import { windowMetricsQuery } from '../src/metrics/window-metrics-query.ts';

// A named prepared statement is parsed once per connection: node-postgres refuses a name sent with
// other text, so every argument that changes the text must be in the name, and nothing else may.
t.test('each prepared statement name stands for exactly one SQL text', async (t) => {
  const texts = new Map<string, Set<string>>();
  for (const worker of [undefined, 'a.Worker', 'Ünï "q" / w', "it's"]) {
    for (const hours of [1, 2, 3, 24, 744, 745, 8760]) {
      const queries: { name?: string; sql: string }[] = [windowMetricsQuery(hours, worker), rollupMetricsQuery(hours, 0, worker), rollupMetricsQuery(hours, hours, worker), windowSizeQuery(hours, 10_000, worker)];
      for (const bucket of ['hour', 'day'] as const) queries.push(timeseriesQuery(hours, bucket, worker));
      for (const query of queries) {
        t.ok(query.name, 'the query is prepared by name');
        texts.set(query.name!, (texts.get(query.name!) ?? new Set()).add(query.sql));
        t.notMatch(query.sql, worker ?? '\u0000', 'values are parameters, never in the text');
      }
    }
  }
  for (const [name, variants] of texts) t.equal(variants.size, 1, `${name}: one text`);
  t.equal(texts.size, 8, 'system and worker forms of four queries');
});

// V8 keeps a string one byte per character only while every character is Latin-1; one "−" in a
// comment made the 20 kB window text two bytes per character, and slonik and node-postgres copy it
// on every request (docs/BENCHMARKS.md, "Memory").
t.test('the statements sent on every read are plain ASCII', async (t) => {
  for (const query of [...metricsStatements(), workerCountersQuery(20), rankedCountersQuery([{ worker: 'w', reason: 'r' }]), workersQuery()]) {
    const name = 'name' in query && query.name ? query.name : query.sql.slice(0, 40);
    t.same([...new Set([...query.sql].filter((c) => c.charCodeAt(0) > 0x7f))], [], `${name}: ASCII only`);
  }
});
