
  -- Each pending row keeps its duration's histogram bin, worked out once as it is appended (about
  -- 0.1 µs), instead of by every read that scans it: a read during a backlog of 1M pending rows
  -- spends about 100 ms less. Stored, so existing pending rows get theirs as the table is rewritten.
  ALTER TABLE job_rollup_pending ADD COLUMN bin integer GENERATED ALWAYS AS (job_rollup_bin(duration_ms)) STORED;
