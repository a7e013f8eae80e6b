/**
 * RFC 4180 CSV: a field with a comma, a double quote, CR or LF is quoted, and its quotes doubled.
 * Records end in CRLF, as the RFC and spreadsheet programs expect.
 */
export function formatCsv(records: readonly (readonly string[])[]): string {
  const field = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return records.map((record) => record.map(field).join(',') + '\r\n').join('');
}

export class CsvError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

export interface CsvRecord {
  /** The line the record starts on (1-based), for error messages. */
  line: number;
  fields: string[];
}

/**
 * Reads RFC 4180 CSV as spreadsheet programs write it: CRLF or LF, quoted fields that hold commas,
 * doubled quotes and line breaks, an optional UTF-8 byte order mark, blank lines skipped.
 * A quote that opens inside an unquoted field, or never closes, is an error naming its line.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let wasQuoted = false;
  let quoteLine = 0;
  const endField = () => {
    fields.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    if (fields.length > 1 || fields[0] !== '') records.push({ line: recordLine, fields });
    fields = [];
  };
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        wasQuoted = true;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') {
      if (field !== '' || wasQuoted) throw new CsvError(line, 'a double quote inside an unquoted field (quote the whole field and double its quotes)');
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && source[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (wasQuoted) throw new CsvError(line, 'text after the closing quote of a field');
      field += c;
    }
  }
  if (quoted) throw new CsvError(quoteLine, 'a quoted field is never closed');
  endRecord();
  return records;
}
