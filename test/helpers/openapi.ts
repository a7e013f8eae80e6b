import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { readFileSync } from 'node:fs';
import { OPENAPI_PATH } from '../../src/openapi-document.ts';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
const spec = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

function templateFor(path: string): string | undefined {
  return Object.keys(spec.paths).find((template) => {
    const pattern = `^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`;
    return new RegExp(pattern).test(path);
  });
}

/**
 * Checks a response against the committed OpenAPI document: its path, status, media type and
 * body schema. Returns the list of problems (empty when the response is what the spec promises).
 */
export function specViolations(method: string, url: string, response: LightMyRequestResponse): string[] {
  const path = url.split('?')[0]!;
  const template = templateFor(path);
  if (!template) return [`no path in the spec matches ${path}`];
  const operation = spec.paths[template]?.[method.toLowerCase()];
  if (!operation) return [`no ${method} operation for ${template}`];
  const declared = operation.responses[String(response.statusCode)];
  if (!declared) return [`${method} ${template} does not declare status ${response.statusCode}`];
  const mediaType = String(response.headers['content-type'] ?? '').split(';')[0]!;
  const content = declared.content?.[mediaType];
  if (!content) return [`${method} ${template} ${response.statusCode} does not declare ${mediaType}`];
  const validate = ajv.compile(content.schema);
  const body = /[/+]json$/.test(mediaType) ? response.json() : response.body;
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
