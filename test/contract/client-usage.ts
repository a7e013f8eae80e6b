/**
 * A program written against the client that @hey-api/openapi-ts generates from openapi/openapi.json:
 * copied next to the generated client, compiled with tsc --strict, run against the service. It
 * calls every operation and prints what it saw as JSON; a type the spec gets wrong fails the
 * compile, an answer that does not fit fails the run.
 */
import { client } from './client/client.gen.js';
import {
  getLiveness,
  getReadiness,
  getSystemMetrics,
  getSystemTimeseries,
  getTmdbThresholdAnalysis,
  getWorkerMetrics,
  getWorkerTimeseries,
  ingestExecutions,
  listJobExecutions,
  listWorkers,
} from './client/index.js';

const baseUrl = process.env.BASE_URL;
const ingestToken = process.env.INGEST_TOKEN;
if (!baseUrl || !ingestToken) throw new Error('BASE_URL and INGEST_TOKEN are required');
client.setConfig({ baseUrl, auth: ingestToken });

const seen: Record<string, unknown> = {};

const system = await getSystemMetrics({ query: { hours: 24, compare: 'previous' } });
if (!system.data) throw new Error(`getSystemMetrics: ${system.response?.status}`);
const executions: number = system.data.executions;
const unknownReasons: number = system.data.cancellations.unknown;
seen.system = { executions, unknownReasons, method: system.data.meta?.method };

const workers = await listWorkers();
if (!workers.data) throw new Error(`listWorkers: ${workers.response?.status}`);
const firstWorker = workers.data.workers[0];
if (!firstWorker) throw new Error('listWorkers: no workers in the demo data');
seen.workers = workers.data.workers.length;

const worker = await getWorkerMetrics({ path: { name: firstWorker.worker }, query: { hours: 168 } });
if (!worker.data) throw new Error(`getWorkerMetrics: ${worker.response?.status}`);
seen.worker = { name: worker.data.worker, executions: worker.data.executions };

const missing = await getWorkerMetrics({ path: { name: 'Never.Seen.Worker' } });
if (!missing.error) throw new Error('getWorkerMetrics: a worker never seen was found');
seen.missing = { status: missing.error.status, type: missing.error.type, contentType: missing.response?.headers.get('content-type') };

const series = await getSystemTimeseries({ query: { hours: 48, bucket: 'hour' } });
if (!series.data) throw new Error(`getSystemTimeseries: ${series.response?.status}`);
seen.series = series.data.points.length;

const workerSeries = await getWorkerTimeseries({ path: { name: firstWorker.worker }, query: { hours: 720, bucket: 'day' } });
if (!workerSeries.data) throw new Error(`getWorkerTimeseries: ${workerSeries.response?.status}`);
seen.workerSeries = workerSeries.data.points.length;

let pages = 0;
let listed = 0;
let cursor: string | undefined;
do {
  const page = await listJobExecutions({ query: { hours: 24, state: 'cancelled', limit: 500, ...(cursor ? { cursor } : {}) } });
  if (!page.data) throw new Error(`listJobExecutions: ${page.response?.status}`);
  pages += 1;
  listed += page.data.executions.length;
  cursor = page.data.next_cursor ?? undefined;
} while (cursor !== undefined && pages < 20);
seen.executions = { pages, listed };

const ingested = await ingestExecutions({
  body: {
    executions: [
      { job_id: 9_000_000_001, worker: 'Contract.Client', state: 'cancelled', results: { cancel_reason: 'client check' }, duration_ms: 12 },
      { job_id: 9_000_000_002, attempt: 2, worker: 'Contract.Client', queue: 'default', state: 'completed', results: null, duration_ms: null },
    ],
  },
});
if (!ingested.data) throw new Error(`ingestExecutions: ${ingested.response?.status} ${JSON.stringify(ingested.error)}`);
seen.ingest = { inserted: ingested.data.inserted, duplicates: ingested.data.duplicates };

const threshold = await getTmdbThresholdAnalysis({ query: { from: 45, to: 50 } });
if (!threshold.data) throw new Error(`getTmdbThresholdAnalysis: ${threshold.response?.status}`);
seen.threshold = threshold.data.band;

const live = await getLiveness();
const ready = await getReadiness();
seen.health = { live: live.data?.status, ready: ready.data?.status };

console.log(JSON.stringify(seen));
