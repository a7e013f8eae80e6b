import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Fastify's shared Ajv coerces and strips (`"5"` → 5, `["x"]` → "x", unknown fields dropped), which
 * suits query strings but would let a write store what the client did not mean. Bodies that are
 * stored are validated as sent: no coercion, no removal, every error reported.
 */
const ajv = new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
addFormats.default(ajv);

export const strictBodyValidator: FastifySchemaCompiler<object> = ({ schema }) => ajv.compile(schema);
