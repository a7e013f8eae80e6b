import type { FastifyInstance } from 'fastify';
import fastifyMetrics from 'fastify-metrics';
import fp from 'fastify-plugin';
import client from 'prom-client';
import { gateStats } from '../../db/pool-gate.ts';
import { shareReads } from '../../metrics/shared-reads.ts';
import { pendingRowsQuery, rankedCountersQuery, workerCountersQuery, type RankedReason } from '../../metrics/prometheus/counters-query.ts';
import { negotiate, render } from '../../metrics/prometheus/exposition.ts';
import { jobFamilies } from '../../metrics/prometheus/job-families.ts';

declare module 'fastify' {
  interface FastifyInstance {
    prometheus: {
      /** The `GET /metrics` page for a scraper's `Accept` header. */
      scrape(accept: string | undefined): Promise<{ contentType: string; body: string }>;
    };
  }
}

export interface PrometheusOptions {
  /** Reason series per worker; the rest are summed in job_cancellations_other_reasons_total. */
  maxReasons: number;
  /** A scrape that ranked at least this many distinct reasons keeps its choice of series (PROMETHEUS_RANK_REUSE_REASONS)… */
  rankReuseReasons: number;
  /** …for this long, counting only the chosen reasons meanwhile (PROMETHEUS_RANK_REUSE_MS). */
  rankReuseMs: number;
}

/** Request durations in seconds: the API answers in milliseconds, the dashboard in a few hundred. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's own health (request durations by route and status from fastify-metrics, process and
 * Node.js metrics from prom-client, pool usage, the fold backlog) in a registry of this app, and the
 * job counters read from the rollups at each scrape. Registered before the routes, whose requests
 * it times.
 */
async function prometheus(fastify: FastifyInstance, options: PrometheusOptions) {
  const registry = new client.Registry();
  await fastify.register(fastifyMetrics.default, {
    name: 'httpMetrics',
    endpoint: null,
    promClient: client,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      // Unmatched URLs (404s, errors before routing) are counted under route "__unknown__", so the
      // 5xx rate sees every answer while the route label stays one per declared route.
      registeredRoutesOnly: false,
      overrides: {
        histogram: { buckets: REQUEST_BUCKETS, registers: [registry] },
        summary: { registers: [] },
      },
    },
  });

  // Gauges named like counters (promtool check metrics flags them); nodejs_active_handles{type} and
  // its siblings carry the same numbers.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }

  new client.Gauge({
    name: 'job_rollup_pending_rows',
    help: 'Inserted rows not folded into the rollups yet (the fold backlog); reads stay exact, only slower',
    registers: [registry],
    async collect() {
      this.set((await fastify.db.one(pendingRowsQuery())).rows);
    },
  });
  const pool = (name: string, help: string, value: (stats: NonNullable<ReturnType<typeof gateStats>>) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        // Summed over the service's pools (the metrics reads may have their own, app.ts).
        const stats = [...new Set([fastify.db, fastify.metricsDb])].map(gateStats).filter((s) => s !== undefined);
        if (stats.length > 0) this.set(stats.reduce((sum, s) => sum + value(s), 0));
      },
    });
  pool('job_metrics_db_pool_connections_max', 'Database connections the pool may open', (s) => s.size);
  pool('job_metrics_db_pool_connections_in_use', 'Database connections held by a request or the fold loop now', (s) => s.active);
  pool('job_metrics_db_pool_waiting_requests', 'Requests waiting for a free database connection (a 503 after POOL_TIMEOUT_MS)', (s) => s.waiting);

  new client.Gauge({
    name: 'job_metrics_rollup_cache_versions',
    help: 'Rollup row versions whose duration histogram this process holds between reads',
    registers: [registry],
    collect() {
      this.set(fastify.metrics.histograms.size);
    },
  });
  new client.Gauge({
    name: 'job_metrics_rollup_cache_bytes',
    help: 'Bytes of the rollup histograms this process holds (bounded at 32 MB)',
    registers: [registry],
    collect() {
      this.set(fastify.metrics.histograms.bytes);
    },
  });
  new client.Counter({
    name: 'job_metrics_rollup_cache_reads_total',
    help: 'Rollup row histograms that metrics reads summed, by source: held by this process, or sent by the database',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      // The counts live in the cache; a collect copies them (reset, then the totals so far).
      this.reset();
      for (const source of ['held', 'sent'] as const) this.inc({ source }, fastify.metrics.histograms.used[source]);
    },
  });

  // Which reasons get a series of their own is decided by ranking every reason of every month: with
  // reasons that embed ids, 5.3 s at 1M reasons (bench:scrape-reasons), on every scrape (docs/BENCHMARKS.md, "Prometheus with
  // many reasons"). Once a ranking is that big, its choice is kept and a scrape counts only the chosen
  // reasons, by index (25 ms there): the counts stay exact, the choice lags. An old choice is
  // ranked again in the background, so no scrape but the first waits for a ranking.
  let ranking: { reasons: RankedReason[]; at: number } | undefined;
  let reranking: Promise<void> | undefined;
  const rank = async () => {
    const rows = await fastify.db.any(workerCountersQuery(options.maxReasons));
    const size = rows.reduce((sum, row) => sum + row.ranked_reasons, 0);
    // Decided by the ranking's size, not its time: the same data gives the same series on any machine.
    ranking = size >= options.rankReuseReasons && options.rankReuseMs > 0
      ? { reasons: rows.flatMap((row) => row.top_reasons.map(([reason]) => ({ worker: row.worker, reason }))), at: performance.now() }
      : undefined;
    return rows;
  };
  const countersNow = async () => {
    if (!ranking) return rank();
    if (performance.now() - ranking.at >= options.rankReuseMs && !reranking) {
      reranking = rank().then(
        () => undefined,
        (error: unknown) => fastify.log.warn({ err: error }, 'ranking the cancel reasons for GET /metrics failed; the last choice stays'),
      ).finally(() => {
        reranking = undefined;
      });
    }
    return fastify.db.any(rankedCountersQuery(ranking.reasons));
  };
  fastify.addHook('onClose', async () => {
    await reranking;
  });
  const readCounters = shareReads(countersNow, () => 'counters');
  fastify.decorate('prometheus', {
    async scrape(accept: string | undefined) {
      const contentType = negotiate(accept);
      const body = await render(registry, jobFamilies(await readCounters()), contentType);
      return { contentType, body };
    },
  });
}

export default fp(prometheus, { name: 'prometheus', dependencies: ['database', 'metrics-repository'] });
