import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { invalidParameter } from '../../http/errors.ts';

interface IntegerProperty {
  type?: unknown;
  minimum?: number;
  maximum?: number;
}

/**
 * Ajv coerces query strings for us, and too generously: `1e3`, ` 5`, `+5`, `0x10` and `1.0` all
 * become integers. The contract accepts plain decimal digits only (leading zeros included: `024`
 * is 24), so every integer query parameter is checked as written (and given once) before Ajv sees it.
 */
function strictIntegers(names: string[], properties: Record<string, IntegerProperty>): preValidationHookHandler {
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    for (const name of names) {
      const raw = query[name];
      if (raw === undefined) continue;
      const { minimum, maximum } = properties[name] ?? {};
      const range = minimum !== undefined && maximum !== undefined ? ` from ${minimum} to ${maximum}` : '';
      const message = Array.isArray(raw)
        ? 'must be given once'
        : `must be a whole number written in plain digits${range} (got ${JSON.stringify(String(raw).slice(0, 40))})`;
      if (Array.isArray(raw) || !/^[0-9]+$/.test(String(raw))) {
        return done(invalidParameter(name, message));
      }
    }
    done();
  };
}

async function strictQuery(fastify: FastifyInstance) {
  fastify.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as { properties?: Record<string, IntegerProperty> } | undefined;
    const properties = schema?.properties ?? {};
    const names = Object.keys(properties).filter((name) => properties[name]?.type === 'integer');
    if (names.length === 0) return;
    const hook = strictIntegers(names, properties);
    route.preValidation = [hook, ...(route.preValidation ? [route.preValidation].flat() : [])];
  });
}

export default fp(strictQuery, { name: 'strict-query' });
