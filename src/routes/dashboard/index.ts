import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitUrl } from '../../http/request-url.ts';

const PAGE_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));
/** uPlot is served from the installed package: no build step, no CDN. */
const UPLOT_DIR = dirname(fileURLToPath(import.meta.resolve('uplot/dist/uPlot.esm.js')));
const VENDOR_FILES = ['uPlot.esm.js', 'uPlot.min.css'];

/**
 * The dashboard: static files that call the public API only. Kept out of the OpenAPI document;
 * encapsulated, so its `sendFile` decoration cannot clash with another static registration.
 */
export default async function dashboardRoutes(fastify: FastifyInstance) {
  await fastify.register(fastifyStatic, { root: PAGE_DIR, prefix: '/dashboard/', index: false, wildcard: false });

  // The page's links are relative (a proxy may serve the service under a path of its own), so it
  // must be served from `…/dashboard`: `…/dashboard/` (ignoreTrailingSlash routes it here) would
  // resolve them one folder too deep. The redirects are relative for the same reason.
  fastify.get('/dashboard', { schema: { hide: true } }, (request, reply) => {
    const { path, query } = splitUrl(request.url);
    if (path.endsWith('/')) return reply.redirect(`../dashboard${query}`, 301);
    return reply.sendFile('index.html');
  });
  fastify.get('/', { schema: { hide: true } }, (request, reply) => reply.redirect(`dashboard${splitUrl(request.url).query}`, 302));
  for (const file of VENDOR_FILES) {
    fastify.get(`/dashboard/vendor/${file}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile(file, UPLOT_DIR));
  }
}
