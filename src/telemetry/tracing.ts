import { FastifyOtelInstrumentation } from '@fastify/otel';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Traces with the official instrumentations: the HTTP server span of each request, Fastify's
 * request, hook and handler spans (@fastify/otel, on every Fastify instance), a span per
 * PostgreSQL query (pg), and the trace and span ids on every log line written inside a request
 * (pino). Exporter, endpoint, protocol, sampler and resource come from the standard OTEL_*
 * variables; the service's own metrics stay on GET /metrics and its logs on stdout.
 */
export function startTracing(env: Record<string, string | undefined>): NodeSDK {
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ? undefined : 'job-metrics',
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation(),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
      new PgInstrumentation(),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  return sdk;
}
