import pg from 'pg';

/** A node of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON). */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

const DETAILS = [
  'Index Cond', 'Recheck Cond', 'Filter', 'Rows Removed by Filter', 'Rows Removed by Index Recheck',
  'Heap Fetches', 'Sort Key', 'Sort Method', 'Group Key', 'Hash Cond', 'Join Filter', 'Workers Launched',
];

function label(node: PlanNode): string {
  const index = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const relation = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  return `${node['Node Type']}${index}${relation}`;
}

/** Every node of the plan, outermost first. */
export const planNodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(planNodes)];

/** The distinct values `pick` finds on the plan's nodes, sorted. */
const collect = (node: PlanNode, pick: (n: PlanNode) => string | undefined): string[] =>
  [...new Set(planNodes(node).flatMap((n) => pick(n) || []))].sort();

/** Every index the plan touches. */
export const indexesUsed = (node: PlanNode): string[] => collect(node, (n) => n['Index Name']);

/** Every table the plan reads whole (a sequential scan). */
export const sequentialScans = (node: PlanNode): string[] =>
  collect(node, (n) => (n['Node Type'] === 'Seq Scan' ? String(n['Relation Name']) : undefined));

/** The plan's shape in one line: the nodes outermost first, at most `limit` of them. */
export function topNodes(node: PlanNode, limit = 4): string {
  const labels: string[] = [];
  const walk = (n: PlanNode) => {
    if (labels.length >= limit) return;
    // Parallel nodes report rows per process: rows × loops is the node's whole output.
    labels.push(`${label(n)} (${Math.round((n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1))} rows)`);
    n.Plans?.forEach(walk);
  };
  walk(node);
  return labels.join(' → ');
}

/** The plan as indented text, like EXPLAIN's own text format, with the details that explain the time. */
export function renderPlan(node: PlanNode, depth = 0): string {
  const pad = '  '.repeat(depth);
  const head =
    `${pad}${depth ? '-> ' : ''}${label(node)} (actual time=${node['Actual Total Time']} ms ` +
    `rows=${node['Actual Rows']} loops=${node['Actual Loops']}) buffers hit=${node['Shared Hit Blocks'] ?? 0} read=${node['Shared Read Blocks'] ?? 0}`;
  const details = DETAILS.filter((key) => node[key] !== undefined).map(
    (key) => `${pad}     ${key}: ${Array.isArray(node[key]) ? (node[key] as unknown[]).join(', ') : String(node[key])}`,
  );
  return [head, ...details, ...(node.Plans ?? []).map((child) => renderPlan(child, depth + 1))].join('\n');
}

/** A value as an SQL literal for EXECUTE: arrays (the held histogram versions) as text[]. */
const literal = (value: unknown): string =>
  value === null ? 'NULL' : Array.isArray(value) ? `ARRAY[${value.map(literal).join(', ')}]::text[]` : pg.escapeLiteral(String(value));

/** The arguments of `EXECUTE name…` for a prepared statement's values: `(…)`, or nothing. */
export const executeArgs = (values: readonly unknown[]): string => (values.length === 0 ? '' : `(${values.map(literal).join(', ')})`);

/** A Slonik query token as node-postgres text and values (Slonik numbers its placeholders $slonik_N). */
export const pgQuery = (token: { sql: string; values: readonly unknown[] }) => ({
  text: token.sql.replaceAll('$slonik_', '$'),
  values: [...token.values],
});
