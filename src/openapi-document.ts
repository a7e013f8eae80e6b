import type { DatabasePool } from 'slonik';
import { buildApp } from './app.ts';

/** The path of the committed spec that generated clients build from. */
export const OPENAPI_PATH = new URL('../openapi/openapi.json', import.meta.url);

/** A pool for building the app without a database: the document needs routes, not rows. */
const noDatabase = new Proxy({} as DatabasePool, {
  get: (_target, property) =>
    typeof property === 'string' && /^(any|many|one|maybe|exists|query|transaction|connect|stream)/.test(property)
      ? () => Promise.reject(new Error(`the OpenAPI build has no database (pool.${property})`))
      : undefined,
});

/** The OpenAPI document exactly as the running service serves it at /openapi.json. */
export async function openapiDocument(): Promise<string> {
  const app = await buildApp({ pool: noDatabase });
  await app.ready();
  const document = app.swagger();
  await app.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}
