/**
 * `node --max-semi-space-size=16 --import ./src/telemetry/preload.ts src/server.ts` (what `npm start`
 * runs): starts tracing before any instrumented module loads, when the OTEL_* variables ask for it
 * (tracing-requested.ts); otherwise it loads nothing. The pg driver is imported from an ES module
 * (@slonik/pg-driver), so that one import is hooked too (import-in-the-middle); hooking every import
 * would slow the start.
 */
import { register } from 'node:module';
import { tracingRequested } from './tracing-requested.ts';
import { onShutdown } from './shutdown.ts';

if (tracingRequested(process.env)) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['pg'] } });
  const { startTracing } = await import('./tracing.ts');
  const sdk = startTracing(process.env);
  // Spans still in the batch are sent before the process exits.
  onShutdown(() => sdk.shutdown());
}
