import type { FastifyBodyParser } from 'fastify';
import { scan } from 'secure-json-parse';

const invalid = (message: string) => Object.assign(new Error(message), { statusCode: 400 });

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

/**
 * JSON is UTF-8 (RFC 8259 §8.1). A body declared in another charset, or holding bytes that are not
 * UTF-8, would otherwise be stored with U+FFFD in place of what the client meant: refused instead.
 */
function decodeUtf8(contentType: string | undefined, body: Buffer): string | Error {
  const match = CHARSET.exec(contentType ?? '');
  const charset = match ? (match[1] ?? match[2] ?? '').toLowerCase() : 'utf-8';
  if (charset !== 'utf-8' && charset !== 'utf8') {
    return Object.assign(new Error(`JSON is UTF-8 (RFC 8259): send charset=utf-8 or no charset, not "${charset.slice(0, 40)}"`), {
      statusCode: 415,
    });
  }
  try {
    return UTF8.decode(body);
  } catch {
    return invalid('the body is not valid UTF-8, as JSON must be (RFC 8259)');
  }
}

/**
 * JSON bodies as Fastify parses them, with a message that says why a body is refused. A
 * `"__proto__"` key, or a `"constructor"` holding a `"prototype"`, is valid JSON, but code that
 * copies such an object into another (a merge, a spread into a class) changes that object's
 * prototype: the service refuses them anywhere in the body, `results` included.
 */
export const parseJsonBody: FastifyBodyParser<Buffer> = (request, raw, done) => {
  if (raw.length === 0) return done(invalid('the body is empty: send a JSON object'), undefined);
  const body = decodeUtf8(request.headers['content-type'], raw);
  if (body instanceof Error) return done(body, undefined);
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
