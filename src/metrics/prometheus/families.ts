/**
 * A metric family as prom-client's Registry renders it: what `get()` of its own Counter or Histogram
 * returns. The job families are computed per scrape from one database snapshot, so they are built
 * as plain families rather than prom-client metrics that are incremented.
 */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  /** The sample's own name, e.g. `…_bucket`; the family's name when absent. */
  metricName?: string;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: Family['type']; aggregator: 'sum'; values: Sample[] }>;
}

export function family(name: string, help: string, type: Family['type'], values: Sample[]): Family {
  const self: Family = {
    name,
    help,
    type,
    aggregator: 'sum',
    // The name is read at call time: an OpenMetrics view renames the family (job-executions → …).
    get: async () => ({ name: self.name, help, type, aggregator: 'sum', values }),
  };
  return self;
}
