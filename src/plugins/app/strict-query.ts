import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { invalidParameter } from '../../http/errors.ts';
import { splitUrl } from '../../http/request-url.ts';

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

const decodes = (text: string) => {
  try {
    decodeURIComponent(text.replaceAll('+', ' '));
    return true;
  } catch {
    return false;
  }
};

/**
 * Fastify's query parser keeps a value it cannot decode (`worker=%zz`, `reason=%C0%AF`) as the
 * literal text, so a filter would search for bytes the client never meant; the same bytes in the
 * path are a 400. A declared parameter must decode; an unknown one is ignored, as always.
 */
function decodableQuery(names: Set<string>): preValidationHookHandler {
  return (request, _reply, done) => {
    for (const pair of splitUrl(request.url).query.slice(1).split('&')) {
      const at = pair.indexOf('=');
      const [key, value] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      if (!decodes(key)) continue;
      const name = decodeURIComponent(key.replaceAll('+', ' '));
      if (names.has(name) && !decodes(value)) {
        return done(invalidParameter(name, 'must be percent-encoded UTF-8: each "%" starts a %XX escape of UTF-8 bytes'));
      }
    }
    done();
  };
}

async function strictQuery(fastify: FastifyInstance) {
  fastify.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as { properties?: Record<string, IntegerProperty> } | undefined;
    const properties = schema?.properties ?? {};
    const declared = Object.keys(properties);
    if (declared.length === 0) return;
    const integers = declared.filter((name) => properties[name]?.type === 'integer');
    const hooks = [decodableQuery(new Set(declared)), ...(integers.length > 0 ? [strictIntegers(integers, properties)] : [])];
    route.preValidation = [...hooks, ...(route.preValidation ? [route.preValidation].flat() : [])];
  });
}

export default fp(strictQuery, { name: 'strict-query' });
