import t from 'tap';
import { shareReads } from '../src/metrics/shared-reads.ts';

/** A read we finish by hand; each one records the order in which it started. */
function controlledReads() {
  let clock = 0;
  const reads: { key: string; startedAt: number; finish: (value: number) => void; fail: (error: Error) => void }[] = [];
  const read = (key: string) =>
    new Promise<{ key: string; startedAt: number }>((resolve, reject) => {
      const startedAt = ++clock;
      reads.push({ key, startedAt, finish: () => resolve({ key, startedAt }), fail: reject });
    });
  return { reads, read, tick: () => ++clock };
}

const flush = () => new Promise((r) => setImmediate(r));

t.test('callers arriving during a read share the next read, never the one already running', async (t) => {
  const { reads, read, tick } = controlledReads();
  const ask = shareReads(read, (key) => key);
  const first = ask('24h');
  await flush();
  t.equal(reads.length, 1, 'the first caller starts a read');
  const askedAt = tick();
  const waiting = [ask('24h'), ask('24h'), ask('24h')];
  await flush();
  t.equal(reads.length, 1, 'later callers do not start reads of their own…');
  reads[0]!.finish(0);
  t.equal((await first).startedAt, reads[0]!.startedAt);
  await flush();
  t.equal(reads.length, 2, '…they share exactly one next read, started once the first has settled');
  reads[1]!.finish(0);
  const answers = await Promise.all(waiting);
  for (const answer of answers) t.ok(answer.startedAt > askedAt, 'every answer comes from a read that started after its caller asked');
  t.equal(new Set(answers.map((a) => a.startedAt)).size, 1);
  const later = ask('24h');
  await flush();
  t.equal(reads.length, 3, 'once idle, the next caller starts a fresh read');
  reads[2]!.finish(0);
  await later;
});

t.test('different questions never share; a failed read fails only its own callers', async (t) => {
  const { reads, read } = controlledReads();
  const ask = shareReads(read, (key) => key);
  const a = ask('system');
  const b = ask('worker');
  await flush();
  t.same(reads.map((r) => r.key), ['system', 'worker']);
  const queued = ask('system');
  reads[0]!.fail(new Error('database down'));
  await t.rejects(a, /database down/);
  await flush();
  t.equal(reads.length, 3, 'the queued caller still gets a read of its own after the failure');
  reads[2]!.finish(0);
  t.equal((await queued).key, 'system');
  reads[1]!.finish(0);
  t.equal((await b).key, 'worker');
});
