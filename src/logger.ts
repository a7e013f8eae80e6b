import type { FastifyServerOptions } from 'fastify';
import type { LogLevel } from './config.ts';

/**
 * JSON logs for machines, pretty ones for a person at a terminal; secrets never reach either.
 * @see https://getpino.io/#/docs/redaction
 */
export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'databaseUrl', '*.databaseUrl', 'url'],
      censor: '[redacted]',
    },
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } } : {}),
  };
}

/** A connection URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
