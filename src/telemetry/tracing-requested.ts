type Env = Record<string, string | undefined>;

const set = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * Tracing starts only when the standard OpenTelemetry variables ask for it: an OTLP endpoint, or an
 * explicit trace exporter other than "none" — and not with OTEL_SDK_DISABLED=true. Otherwise the
 * SDK is never loaded, so an untraced service runs exactly as before.
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (exporters.includes('none')) return false;
  return exporters.length > 0 || set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
