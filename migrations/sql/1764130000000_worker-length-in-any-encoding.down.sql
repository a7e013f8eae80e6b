ALTER TABLE job_execution_summaries
  DROP CONSTRAINT job_execution_summaries_worker_check,
  ADD CONSTRAINT job_execution_summaries_worker_check CHECK (char_length(worker) BETWEEN 1 AND 255);
DROP FUNCTION job_text_characters(text);
