/** npm run openapi: writes openapi/openapi.json from the route schemas (`--check`: fail if it differs). */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OPENAPI_PATH, openapiDocument } from '../openapi-document.ts';
import { runCli } from './run-cli.ts';

await runCli(async () => {
  const document = await openapiDocument();
  const path = fileURLToPath(OPENAPI_PATH);
  if (process.argv.includes('--check')) {
    const committed = await readFile(path, 'utf8').catch(() => '');
    if (committed !== document) throw new Error(`${path} is out of date: run npm run openapi and commit it`);
    console.log(`${path} is up to date`);
    return;
  }
  await writeFile(path, document);
  console.log(`wrote ${path}`);
});
