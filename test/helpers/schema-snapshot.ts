import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/**
 * The schema as the catalog sees it, one line per object, sorted: tables with their storage
 * options, columns (type, nullability, default, identity, collation), constraints, indexes (with
 * validity), triggers and functions with their full definitions. Two databases with equal
 * snapshots have the same schema; `pgmigrations` (the record, not the schema) is left out.
 */
export function schemaSnapshot(pool: DatabasePool) {
  return pool.oneFirst(sql.type(z.object({ snapshot: z.string() }))`
    WITH ours AS (
      SELECT c.oid, c.relname, c.relkind, c.reloptions FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'pgmigrations%'
    ), lines AS (
      SELECT format('table %s %s', relname, reloptions) AS line FROM ours WHERE relkind IN ('r', 'p')
      UNION ALL
      SELECT format('column %s.%s %s notnull=%s default=%s identity=%s generated=%s collation=%s',
                    o.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation)
      FROM ours o JOIN pg_attribute a ON a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE o.relkind IN ('r', 'p')
      UNION ALL
      SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      UNION ALL
      SELECT format('index %s %s valid=%s options=%s', o.relname, pg_get_indexdef(i.indexrelid), i.indisvalid, o.reloptions)
      FROM pg_index i JOIN ours o ON o.oid = i.indexrelid
      UNION ALL
      SELECT format('sequence %s', relname) FROM ours WHERE relkind = 'S'
      UNION ALL
      SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL
      SELECT format('function %s', pg_get_functiondef(p.oid))
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
    )
    SELECT coalesce(string_agg(line, E'\n' ORDER BY line COLLATE "C"), '') AS snapshot FROM lines
  `);
}
