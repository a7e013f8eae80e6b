import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import pWaitFor from 'p-wait-for';
import { sql } from 'slonik';
import { z } from 'zod';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { startTestDatabase, STOPS_SERVER } from './helpers/database.ts';

const INGEST_TOKEN = 'fault-token-0123456789abcdef';
const db = await startTestDatabase(t);
const BATCH = 50;
let nextJob = 1;

function batch(worker: string): { executions: object[]; ids: number[] } {
  const ids = Array.from({ length: BATCH }, () => nextJob++);
  return { ids, executions: ids.map((job_id) => ({ job_id, worker, state: 'completed', duration_ms: job_id % 997 })) };
}

/** Which job ids of each batch are stored: a batch must be all there or not at all. */
async function storedIds(worker: string): Promise<Set<number>> {
  const ids = await db.pool.anyFirst(
    sql.type(z.object({ job_id: z.number() }))`SELECT job_id FROM job_execution_summaries WHERE worker = ${worker}`,
  );
  return new Set(ids);
}

function assertBatches(t: Test, sent: { ids: number[]; acked: boolean }[], stored: Set<number>) {
  const acked = sent.filter((b) => b.acked);
  const missing = acked.flatMap((b) => b.ids.filter((id) => !stored.has(id)));
  t.same(missing, [], `every row of the ${acked.length} acknowledged batches is stored`);
  const partial = sent.filter((b) => {
    const present = b.ids.filter((id) => stored.has(id)).length;
    return present !== 0 && present !== b.ids.length;
  });
  t.same(partial.map((b) => b.ids[0]), [], 'no batch is half written');
  return { acked: acked.length, rows: acked.length * BATCH, stored: stored.size };
}

t.test('ingest while the database goes down and comes back: 503s, then 201s, nothing acknowledged is lost', { skip: db.canStopServer ? false : STOPS_SERVER }, async (t) => {
  // A refused connection is answered at once whatever the pool wait; 2 s (the default) is ample to
  // open one on a loaded machine.
  const config = loadConfig({ INGEST_TOKEN, POOL_TIMEOUT_MS: '2000', STATEMENT_TIMEOUT_MS: '2000' });
  const pool = await createDatabasePool(db.url, { statementTimeoutMs: config.statementTimeoutMs, connectionTimeoutMs: config.poolTimeoutMs });
  const app = await buildApp({ pool, closePool: true, config, shedLoad: false });
  t.teardown(() => app.close());
  const worker = 'Fault.Outage';
  const sent: { ids: number[]; acked: boolean }[] = [];
  const statuses: Record<number, number> = {};
  const post = async () => {
    const { executions, ids } = batch(worker);
    const response = await app.inject({
      method: 'POST',
      url: '/job-executions',
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      payload: { executions },
    });
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    if (response.statusCode >= 500) t.match(response.json(), { status: 503 }, 'a failure is a 503 problem');
    sent.push({ ids, acked: response.statusCode === 201 });
  };
  for (let i = 0; i < 10; i++) await post();
  await db.stopServer();
  for (let i = 0; i < 5; i++) await post();
  await db.startServer();
  for (let i = 0; i < 10; i++) await post();
  t.ok((statuses[503] ?? 0) >= 5, `503 while down (${JSON.stringify(statuses)})`);
  t.equal(statuses[201], 20, 'every batch before and after the outage acknowledged');
  const figures = assertBatches(t, sent, await storedIds(worker));
  t.equal(figures.stored, figures.rows, 'stored exactly what was acknowledged');
  t.comment(`outage: ${JSON.stringify({ statuses, ...figures })}`);
});

t.test('SIGTERM during an ingest load: every request sent is answered, every acknowledged row stored, exit 0', async (t) => {
  const server = spawn(process.execPath, [new URL('../src/server.ts', import.meta.url).pathname], {
    env: { ...process.env, DATABASE_URL: db.url, INGEST_TOKEN, PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stderr.on('data', (chunk) => (output += chunk));
  const base = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));

  const worker = 'Fault.Sigterm';
  const sent: { ids: number[]; acked: boolean }[] = [];
  const statuses: Record<string, number> = {};
  let stop = false;
  const client = async () => {
    while (!stop) {
      const { executions, ids } = batch(worker);
      const entry = { ids, acked: false };
      sent.push(entry);
      try {
        const response = await fetch(`${base}/job-executions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ executions }),
        });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        entry.acked = response.status === 201;
      } catch (error) {
        // Refused: the server has stopped accepting, and this request was never sent. Anything else
        // (a reset, a connection closed without an answer) would leave the client not knowing.
        const code = String((error as { cause?: { code?: unknown } }).cause?.code);
        const outcome = code === 'ECONNREFUSED' ? 'refused' : `unanswered ${code}`;
        statuses[outcome] = (statuses[outcome] ?? 0) + 1;
        stop = true; // the load is over
      }
    }
  };
  const clients = Array.from({ length: 8 }, client);
  // Under load: 20 batches acknowledged and all 8 clients waiting on their next answer.
  await pWaitFor(() => (statuses[201] ?? 0) >= 20, { timeout: { milliseconds: 60_000, message: `no load: ${JSON.stringify(statuses)}` } });
  server.kill('SIGTERM');
  // The service gives itself 10 s (SHUTDOWN_GRACE_MS) and then exits 1; 30 s only ends a hang.
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('no exit within 30 s'), 30_000))]);
  stop = true;
  await Promise.all(clients);
  t.equal(code, 0, `the service exits 0 (${output.slice(-300)})`);
  t.notOk(Object.keys(statuses).some((s) => Number(s) >= 500 && s !== '503'), 'no 5xx other than 503');
  t.same(
    Object.keys(statuses).filter((s) => s.startsWith('unanswered')),
    [],
    'every request sent got an answer (201, or 503 with Connection: close); only new connections were refused',
  );
  const figures = assertBatches(t, sent, await storedIds(worker));
  t.ok(figures.stored >= figures.rows, 'nothing acknowledged is missing');
  t.comment(`sigterm: ${JSON.stringify({ statuses, ...figures })}`);
});
