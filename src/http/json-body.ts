import type { FastifyBodyParser } from 'fastify';
import { scan } from 'secure-json-parse';

const invalid = (message: string) => Object.assign(new Error(message), { statusCode: 400 });

/**
 * JSON bodies as Fastify parses them, with a message that says why a body is refused. A
 * `"__proto__"` key, or a `"constructor"` holding a `"prototype"`, is valid JSON, but code that
 * copies such an object into another (a merge, a spread into a class) changes that object's
 * prototype: the service refuses them anywhere in the body, `results` included.
 */
export const parseJsonBody: FastifyBodyParser<string> = (_request, body, done) => {
  if (body.length === 0) return done(invalid('the body is empty: send a JSON object'), undefined);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return done(invalid('the body is not valid JSON'), undefined);
  }
  try {
    if (typeof value === 'object' && value !== null) scan(value, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return done(
      invalid(
        'the body holds a "__proto__" key, or a "constructor" key holding "prototype": valid JSON, but refused ' +
          'because such keys can change the prototype of objects built from it; rename the key',
      ),
      undefined,
    );
  }
  done(null, value);
};
