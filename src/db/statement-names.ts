import type { Interceptor } from 'slonik';
import { hasCode } from './error-codes.ts';

/**
 * Named prepared statements keep each metrics statement planned once per connection (≈ 3 ms a
 * read). Behind a pooler in transaction mode that does not track them (PgBouncer before 1.21, or
 * without `max_prepared_statements`) a client's statements run on whichever server connection is
 * free: a named statement is missing there ("does not exist", 26000) or was prepared there by
 * another client ("already exists", 42P05), and every metrics read failed.
 */
const LOST_STATEMENT = new Set(['26000', '42P05']);

/**
 * The pool's statement names: sent until the first error that says the server connections are
 * shared, then dropped from every statement (each is planned as it runs). `lost(error)` tells
 * whether an error was that one, so the caller can run its statement again, unnamed.
 */
export function statementNames(onUnnamed: () => void = () => {}) {
  let named = true;
  const interceptor: Interceptor = {
    name: 'statement-names',
    transformQuery: (_context, query) => (named || query.name === undefined ? query : { sql: query.sql, values: query.values }),
  };
  return {
    interceptor,
    get named() {
      return named;
    },
    lost(error: unknown): boolean {
      if (!hasCode(error, LOST_STATEMENT)) return false;
      if (named) {
        named = false;
        onUnnamed();
      }
      return true;
    },
  };
}
