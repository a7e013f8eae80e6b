-- A worker name is 1-255 characters (docs/CONTRACT.md). The check counted them with char_length,
-- which in a SQL_ASCII database (initdb's default under the C locale) counts bytes: a name of 255
-- characters with one outside ASCII was refused there, as was any insert carrying it. Counted now
-- as UTF-8 characters in such a database (bytes that do not continue a character), and with
-- char_length in every other encoding, as before. The constraint is replaced NOT VALID here (a
-- brief lock, no scan); the migration validates it after this commits, writers not blocked.
CREATE OR REPLACE FUNCTION job_text_characters(t text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN current_setting('server_encoding') = 'SQL_ASCII'
    THEN char_length(regexp_replace(t, '[\x80-\xbf]', '', 'g'))
    ELSE char_length(t) END;
ALTER TABLE job_execution_summaries
  DROP CONSTRAINT IF EXISTS job_execution_summaries_worker_check,
  ADD CONSTRAINT job_execution_summaries_worker_check CHECK (job_text_characters(worker) BETWEEN 1 AND 255) NOT VALID;
