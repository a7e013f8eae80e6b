/**
 * A parser of the Prometheus text format 0.0.4 and OpenMetrics 1.0 written from the two specs,
 * independent of prom-client (which renders what is parsed): label values are unescaped
 * (\\, \", \n), and any line that is not a comment, a blank or a well-formed sample is an error.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name → type, from the `# TYPE` lines. */
  types: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`no metric name in ${JSON.stringify(line.slice(0, 80))}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i += 1;
    while (line[i] !== '}') {
      const labelName = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!labelName || line.slice(i + labelName.length, i + labelName.length + 2) !== '="') {
        throw new Error(`bad label at ${i} in ${JSON.stringify(line.slice(0, 120))}`);
      }
      i += labelName.length + 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line.slice(0, 120))}`);
        i += 1;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = line[i];
          i += 1;
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else throw new Error(`bad escape \\${escaped} in ${JSON.stringify(line.slice(0, 120))}`);
        } else {
          value += c;
        }
      }
      if (labelName in labels) throw new Error(`label ${labelName} twice`);
      labels[labelName] = value;
      if (line[i] === ',') i += 1;
    }
    i += 1;
  }
  if (line[i] !== ' ') throw new Error(`no space before the value in ${JSON.stringify(line.slice(0, 120))}`);
  const [value, timestamp, ...rest] = line.slice(i + 1).split(' ');
  if (rest.length > 0 || (timestamp !== undefined && !/^-?\d+(\.\d+)?$/.test(timestamp))) throw new Error(`trailing text in ${line}`);
  return { name, labels, value: parseValue(value ?? '') };
}

export function parseExposition(text: string, format: 'prometheus' | 'openmetrics'): Exposition {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition does not end with a newline');
  if (format === 'openmetrics' && lines.pop() !== '# EOF') throw new Error('OpenMetrics must end with "# EOF"');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of lines) {
    if (line === '') {
      if (format === 'openmetrics') throw new Error('OpenMetrics has no blank lines');
      continue;
    }
    const type = /^# TYPE ([^ ]+) ([a-z]+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    else if (!line.startsWith('#')) samples.push(parseSample(line));
  }
  return { samples, types };
}

/** The value of the one sample with this name and exactly these labels (undefined when absent). */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = exposition.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  if (found.length > 1) throw new Error(`${name} ${wanted} appears ${found.length} times`);
  return found[0]?.value;
}
