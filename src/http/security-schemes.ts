/** The OpenAPI security schemes; a route's declared `security` is what the auth plugin enforces. */
export const SECURITY_SCHEMES = {
  ingestToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'INGEST_TOKEN of the service; without it configured, writes answer 403',
  },
  readToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'READ_TOKEN of the service, required by reads only when it is configured',
  },
} as const;

export type Security = Record<string, string[]>[];
export const INGEST_SECURITY: Security = [{ ingestToken: [] }];
/** `{}`: reads are open unless the service runs with READ_TOKEN. */
export const READ_SECURITY: Security = [{ readToken: [] }, {}];
