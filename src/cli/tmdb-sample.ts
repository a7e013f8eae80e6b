/**
 * npm run tmdb:sample -- [--from 45] [--to 50] [--size 80] [--seed N] [--hours 720] [--out sample.csv] [--force]
 * Draws a reproducible random sample of the TMDB match attempts with from ≤ confidence < to for
 * manual review, as CSV (stdout without --out). Reads DATABASE_URL, or the embedded database in DATA_DIR.
 */
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { formatSample } from '../analysis/tmdb-sample-file.ts';
import { loadConfig } from '../config.ts';
import { BAND_OPTIONS, bandOptions, integerOption, parseOptions } from './options.ts';
import { loadDatabaseModules } from './database-modules.ts';
import { runCli } from './run-cli.ts';

const USAGE =
  'usage: npm run tmdb:sample -- [--from 45] [--to 50] [--size 80] [--seed N] [--hours 720] [--out FILE] [--force]';
/** docs/TMDB_THRESHOLD.md: 80 is the smallest round size at which a clean sample proves FP < 5 %. */
const DEFAULT_SIZE = 80;

await runCli(async () => {
  const { values, positionals } = parseOptions(
    { ...BAND_OPTIONS, size: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
    USAGE,
  );
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}. ${USAGE}`);
  const { band, hours } = bandOptions(values);
  const size = integerOption('size', values.size, 1, 1000, DEFAULT_SIZE);
  const seed = String(integerOption('seed', values.seed, 0, Number.MAX_SAFE_INTEGER, randomInt(1, 1_000_000)));
  const { findDatabase, withPool, createTmdbThresholdRepository } = await loadDatabaseModules();
  const config = loadConfig();
  const database = await findDatabase(config);
  if (!database) {
    throw new Error(`DATABASE_URL is not set and DATA_DIR (${config.dataDir}) holds no database: set DATABASE_URL, or run npm start or npm run seed`);
  }

  const { rows, counts } = await withPool(database, config, async (pool) => {
    const repository = createTmdbThresholdRepository(pool);
    return { rows: await repository.sample(band, hours, size, seed), counts: await repository.counts(band, hours) };
  });
  const csv = formatSample(rows);
  if (values.out === undefined) process.stdout.write(csv);
  else {
    await writeFile(values.out, csv, { flag: values.force ? 'w' : 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'EEXIST'
          ? `${values.out} exists (a filled-in review?): choose another --out, or add --force to overwrite it`
          : `cannot write ${values.out}: ${error.message}`,
      );
    });
  }
  const where = values.out ?? 'stdout';
  console.error(
    `${rows.length} of ${counts.in_band} attempts with ${band.from} ≤ confidence < ${band.to} in the last ${hours} h → ${where} ` +
      `(seed ${seed}: the same seed draws the same sample).`,
  );
  if (size < 50 || size > 100) console.error(`note: the seed's plan reviews 50–100 rows; --size ${size} was asked for.`);
  if (values.out !== undefined) {
    console.error(`Fill in verdict (correct or wrong; blank = not reviewed), then: npm run tmdb:decide -- ${values.out} --from ${band.from} --to ${band.to} --hours ${hours}`);
  }
});
