import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { splitUrl } from '../../http/request-url.ts';
import { SECURITY_SCHEMES } from '../../http/security-schemes.ts';
import { readFileSync } from 'node:fs';

const { version, description } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  description: string;
};

/** The OpenAPI document is generated from the route schemas, so it cannot describe another API. */
async function openapi(fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'job-metrics',
        version,
        contact: { name: 'job-metrics maintainers (README.md, docs/RELIABILITY.md)' },
        description: `${description}. Every error is an RFC 9457 problem document (application/problem+json).`,
      },
      servers: [{ url: '/', description: 'This service' }],
      // Reads are open unless READ_TOKEN is set (keep them behind the operator's own network
      // controls either way); writes always need INGEST_TOKEN. Each operation declares its own.
      security: [],
      components: { securitySchemes: SECURITY_SCHEMES },
      tags: [
        { name: 'metrics', description: 'Executions, states, cancellations by reason (NULL reasons counted as unknown), durations' },
        { name: 'executions', description: 'The executions behind a number, newest first, keyset-paginated' },
        { name: 'analysis', description: 'TMDB match threshold: attempts by confidence band (docs/TMDB_THRESHOLD.md)' },
        { name: 'ingest', description: 'Batch writes of job executions over HTTP, beside plain SQL inserts' },
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'monitoring', description: 'Prometheus exposition (GET /metrics) for scrapers, alert rules and dashboards' },
      ],
    },
  });
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's page links its files relatively only when asked as `…/docs/`; behind a proxy
    // that serves the service under a path of its own, `/docs/static/…` would miss. So `/docs`
    // redirects there, relatively.
    uiHooks: {
      onRequest: async (request, reply) => {
        const { path, query } = splitUrl(request.url);
        if (path === '/docs') return reply.redirect(`docs/${query}`, 301);
      },
    },
    // "Try it out" sends requests to the folder above the UI's copy of the spec (…/docs/json),
    // wherever the service is served; /openapi.json, the contract, keeps `servers: /`.
    transformSpecification: (document) => ({ ...document, servers: [{ url: '..', description: 'This service' }] }),
    // Swagger UI sets inline styles at run time; only its own pages get 'unsafe-inline', for styles.
    staticCSP:
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
      "object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
  });
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger());
}

export default fp(openapi, { name: 'openapi' });
