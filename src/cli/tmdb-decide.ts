/**
 * npm run tmdb:decide -- FILE.csv [--from 45] [--to 50] [--hours 720] [--out docs/tmdb-threshold-report.md]
 * Reads a reviewed sample, reports the false-positive rate with its 95 % Wilson interval, the band's
 * counts (DATABASE_URL or the embedded database in DATA_DIR, when there is one) and the seed's decision.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decideThreshold } from '../analysis/threshold-decision.ts';
import { renderReport } from '../analysis/threshold-report.ts';
import { readSample } from '../analysis/tmdb-sample-file.ts';
import { loadConfig } from '../config.ts';
import { BAND_OPTIONS, bandOptions, parseOptions } from './options.ts';
import { loadDatabaseModules } from './database-modules.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run tmdb:decide -- FILE.csv [--from 45] [--to 50] [--hours 720] [--out REPORT.md]';
const DEFAULT_REPORT = 'docs/tmdb-threshold-report.md';

await runCli(async () => {
  const { values, positionals } = parseOptions({ ...BAND_OPTIONS, out: { type: 'string' } }, USAGE);
  if (positionals.length !== 1) throw new Error(`give exactly one sample file. ${USAGE}`);
  const source = positionals[0]!;
  const { band, hours } = bandOptions(values);
  const text = await readFile(source, 'utf8').catch((error: Error) => {
    throw new Error(`cannot read ${source}: ${error.message}`);
  });
  let sample;
  try {
    sample = readSample(text, band);
  } catch (error) {
    throw new Error(`${source}, ${(error as Error).message}`);
  }
  const decision = decideThreshold(sample.wrong, sample.correct + sample.wrong);

  const { findDatabase, withPool, createTmdbThresholdRepository } = await loadDatabaseModules();
  const config = loadConfig();
  const database = await findDatabase(config);
  if (!database) console.error('note: no DATABASE_URL and no database in DATA_DIR: the report leaves out the band counts.');
  const counts = database
    ? await withPool(database, config, (pool) => createTmdbThresholdRepository(pool).counts(band, hours))
    : null;

  const report = renderReport({ source, band, sample, decision, counts, generatedAt: new Date().toISOString() });
  const out = values.out ?? DEFAULT_REPORT;
  try {
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, report);
  } catch (error) {
    throw new Error(`cannot write ${out}: ${(error as Error).message}`);
  }
  process.stdout.write(report);
  console.error(`wrote ${out}`);
});
