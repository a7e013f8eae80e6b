/** The machine's ceiling for the HTTP bench: Fastify answering a constant, with the service's logger off. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`listening on ${url}`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
