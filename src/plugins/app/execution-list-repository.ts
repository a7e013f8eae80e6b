import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createExecutionListRepository,
  type ExecutionListRepository,
} from '../../executions/execution-list-repository.ts';

declare module 'fastify' {
  interface FastifyInstance {
    executionList: ExecutionListRepository;
  }
}

async function executionListRepository(fastify: FastifyInstance, options: { retentionDays?: number }) {
  fastify.decorate('executionList', createExecutionListRepository(fastify.db, options));
}

export default fp(executionListRepository, { name: 'execution-list-repository', dependencies: ['database'] });
