import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/** The schema as the catalog sees it: tables, columns, constraints and indexes (with validity). */
export function schemaSnapshot(pool: DatabasePool) {
  return pool.oneFirst(sql.type(z.object({ snapshot: z.string() }))`
    SELECT concat_ws(E'\n',
      (SELECT string_agg(format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default), E'\n'
                         ORDER BY table_name, column_name)
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'pgmigrations'),
      (SELECT string_agg(format('%s %s', conname, pg_get_constraintdef(oid)), E'\n' ORDER BY conname)
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
      (SELECT string_agg(format('%s %s valid=%s', c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid), E'\n' ORDER BY c.relname)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'pgmigrations%'),
      (SELECT string_agg(format('%s %s', tgname, tgrelid::regclass), E'\n' ORDER BY tgname)
         FROM pg_trigger WHERE NOT tgisinternal),
      (SELECT string_agg(format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), E'\n' ORDER BY p.proname)
         FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace)
    ) AS snapshot
  `);
}
