import type { Band } from './band.ts';
import { CsvError, formatCsv, parseCsv } from './csv.ts';

/** The review sheet: one match attempt a row, `verdict` left empty for the reviewer. */
export const SAMPLE_COLUMNS = [
  'job_id', 'worker', 'inserted_at', 'title', 'candidate_title', 'tmdb_id', 'confidence', 'verdict',
] as const;
export type SampleColumn = (typeof SAMPLE_COLUMNS)[number];
export type SampleRow = Record<SampleColumn, string>;

export function formatSample(rows: readonly SampleRow[]): string {
  return formatCsv([SAMPLE_COLUMNS, ...rows.map((row) => SAMPLE_COLUMNS.map((column) => row[column]))]);
}

export interface ReviewedSample {
  rows: number;
  correct: number;
  wrong: number;
  /** Rows whose verdict is blank: reported, and left out of every rate. */
  unreviewed: number;
}

/**
 * Reads a filled-in review sheet. Columns may come in any order and extra ones (a reviewer's notes)
 * are ignored; a missing column, a verdict other than correct / wrong / blank (any case, spaces
 * trimmed) or a confidence outside the band the sample was drawn from is an error naming the line.
 */
export function readSample(text: string, band: Band): ReviewedSample {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new CsvError(1, `the file is empty: expected the header ${SAMPLE_COLUMNS.join(',')}`);
  const names = header.fields.map((name) => name.trim());
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    if (index.has(name)) throw new CsvError(header.line, `column ${JSON.stringify(name)} appears twice`);
    index.set(name, i);
  });
  const missing = SAMPLE_COLUMNS.filter((column) => !index.has(column));
  if (missing.length > 0) throw new CsvError(header.line, `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);

  const sample: ReviewedSample = { rows: records.length, correct: 0, wrong: 0, unreviewed: 0 };
  for (const { line, fields } of records) {
    if (fields.length !== names.length) {
      throw new CsvError(line, `${fields.length} fields where the header has ${names.length}`);
    }
    const value = (column: SampleColumn) => fields[index.get(column)!]!.trim();
    const confidence = value('confidence');
    if (!/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(confidence) || Number(confidence) < band.from || Number(confidence) >= band.to) {
      throw new CsvError(
        line,
        `confidence ${JSON.stringify(confidence)} is not in the band ${band.from} ≤ confidence < ${band.to} ` +
          '(pass the --from and --to the sample was drawn with)',
      );
    }
    const verdict = value('verdict').toLowerCase();
    if (verdict === '') sample.unreviewed++;
    else if (verdict === 'correct') sample.correct++;
    else if (verdict === 'wrong') sample.wrong++;
    else throw new CsvError(line, `unknown verdict ${JSON.stringify(value('verdict'))}: use correct, wrong, or leave it blank`);
  }
  return sample;
}
