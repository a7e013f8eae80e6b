import t from 'tap';
import fc from 'fast-check';
import { CsvError, formatCsv, parseCsv } from '../src/analysis/csv.ts';
import { decideThreshold, ruleOutcome, wilsonInterval } from '../src/analysis/threshold-decision.ts';
import { renderReport } from '../src/analysis/threshold-report.ts';
import { formatSample, readSample, SAMPLE_COLUMNS, type SampleRow } from '../src/analysis/tmdb-sample-file.ts';

const BAND = { from: 45, to: 50 };

t.test('the Wilson interval matches published values (Newcombe 1998, table II, method 3)', async (t) => {
  const published: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [29, 29, 0.883, 1],
  ];
  for (const [x, n, low, high] of published) {
    const interval = wilsonInterval(x, n)!;
    t.ok(Math.abs(interval.low - low) < 5e-5 && Math.abs(interval.high - high) < 5e-5, `${x}/${n} → ${low}–${high}`);
  }
});

t.test('the Wilson interval at the edges: none wrong, all wrong, nothing reviewed', async (t) => {
  const clean = wilsonInterval(0, 80)!;
  t.equal(clean.low, 0, '0 of n: the lower bound is exactly 0');
  t.ok(Math.abs(clean.high - 3.8414588206941245 / (80 + 3.8414588206941245)) < 1e-12, 'and the upper z²/(n+z²) = 4.58 %');
  t.equal(wilsonInterval(80, 80)!.high, 1, 'n of n: the upper bound is exactly 1');
  t.ok(Math.abs(wilsonInterval(80, 80)!.low - 80 / (80 + 3.8414588206941245)) < 1e-12, 'and the lower n/(n+z²)');
  t.equal(wilsonInterval(0, 74)!.low, 0, 'never a hair below 0 (the formula gives -3.5e-18 here)');
  t.equal(wilsonInterval(0, 0), null, 'n = 0: no interval');
  t.ok(wilsonInterval(0, 73)!.high < 0.05 && wilsonInterval(0, 72)!.high > 0.05, '73 clean rows are the fewest that prove < 5 %');
  for (const [x, n] of [[-1, 10], [11, 10], [1.5, 10], [0, -1], [Number.NaN, 3]]) {
    t.throws(() => wilsonInterval(x!, n!), RangeError, `${x} of ${n} is refused`);
  }
});

t.test('the seed rule on the point estimate: < 5 % proceed, > 10 % keep, 5–10 % (inclusive) the owner', async (t) => {
  t.equal(ruleOutcome(0), 'proceed');
  t.equal(ruleOutcome(0.0499), 'proceed');
  t.equal(ruleOutcome(0.05), 'owner decides');
  t.equal(ruleOutcome(0.1), 'owner decides');
  t.equal(ruleOutcome(0.1001), 'keep');
  t.equal(ruleOutcome(1), 'keep');
});

t.test('decisions stand only when the interval is on one side of 5 % and of 10 %', async (t) => {
  const cases: [number, number, string, number[]][] = [
    [0, 80, 'proceed', []], // [0, 4.6 %]
    [0, 50, 'more samples needed', [0.05]], // [0, 7.1 %]
    [1, 80, 'more samples needed', [0.05]], // [0.2 %, 6.7 %]
    [4, 80, 'more samples needed', [0.05, 0.1]], // [2.0 %, 12.2 %]
    [80, 80, 'keep', []], // all wrong
    [300, 10_000, 'proceed', []],
    [750, 10_000, 'owner decides', []], // [7.0 %, 8.0 %]
    [1500, 10_000, 'keep', []],
    [500, 10_000, 'more samples needed', [0.05]], // exactly 5 %: [4.6 %, 5.4 %]
  ];
  for (const [wrong, reviewed, decision, straddles] of cases) {
    const d = decideThreshold(wrong, reviewed);
    t.equal(d.decision, decision, `${wrong} wrong of ${reviewed} → ${decision}`);
    t.same(d.straddles, straddles);
    t.equal(d.fpRate, wrong / reviewed);
  }
  t.equal(decideThreshold(1, 80).byPointEstimate, 'proceed', 'the point estimate is still reported');
});

t.test('fewer than 30 reviewed rows: insufficient sample, with the interval shown', async (t) => {
  const d = decideThreshold(0, 29);
  t.equal(d.decision, 'insufficient sample');
  t.ok(d.interval && d.interval.high > 0.1);
  t.equal(decideThreshold(0, 30).decision, 'more samples needed', '30 reviewed rows decide (here: not yet)');
  t.match(decideThreshold(0, 0), { decision: 'insufficient sample', fpRate: null, interval: null, byPointEstimate: null });
  const report = renderReport({
    source: 's.csv', band: BAND, sample: { rows: 3, correct: 0, wrong: 0, unreviewed: 3 },
    decision: decideThreshold(0, 0), counts: null, generatedAt: 'now',
  });
  t.match(report, /## Decision: insufficient sample\n\nOnly 0 reviewed rows; the rule needs at least 30\.\n/);
  t.match(report, /\| unreviewed \(blank verdict, left out\) \| 3 \|/);
});

const nastyTitles = [
  'Crouching Tiger, Hidden Dragon', 'The "Burbs"', '"', '""', ',', 'line one\nline two', 'cr\r\nlf', 'cr only\r',
  ' leading and trailing ', '', '=HYPERLINK("x")', 'Léon 🎬 千と千尋', 'a,"b",\nc',
];

t.test('CSV: titles with commas, quotes and line breaks survive a round trip', async (t) => {
  const records = nastyTitles.map((title, i) => [String(i), title, `${title}|${i}`]);
  t.same(parseCsv(formatCsv(records)).map((r) => r.fields), records);
  t.equal(formatCsv([['a,b', 'say "hi"', 'plain']]), '"a,b","say ""hi""",plain\r\n', 'RFC 4180 quoting, CRLF');
  fc.assert(
    fc.property(fc.array(fc.array(fc.string({ unit: 'grapheme-ascii' }), { minLength: 2, maxLength: 5 }), { maxLength: 8 }), (rows) => {
      const parsed = parseCsv(formatCsv(rows)).map((r) => r.fields);
      return JSON.stringify(parsed) === JSON.stringify(rows);
    }),
  );
});

t.test('CSV: what spreadsheets write is read, and broken quoting is an error naming the line', async (t) => {
  t.same(parseCsv('\uFEFFa,b\n1,2\n\n3,4').map((r) => [r.line, r.fields]), [[1, ['a', 'b']], [2, ['1', '2']], [4, ['3', '4']]]);
  t.same(parseCsv('a\r\n"x\ny",z\r\nq').map((r) => r.line), [1, 2, 4], 'a record that spans lines keeps its first line');
  t.throws(() => parseCsv('a,b\n"open,1\n'), new CsvError(2, 'a quoted field is never closed'));
  t.throws(() => parseCsv('a,b\nx"y,1\n'), { message: /^line 2: a double quote inside an unquoted field/ });
  t.throws(() => parseCsv('a,b\n"x"y,1\n'), { message: /^line 2: text after the closing quote/ });
});

const row = (confidence: string, verdict: string, title = 'Film'): SampleRow => ({
  job_id: '1', worker: 'W', inserted_at: '2026-11-25T00:00:00.000Z', title, candidate_title: title, tmdb_id: '7', confidence, verdict,
});

t.test('a review sheet: verdicts counted, blanks left out, extra columns and any order allowed', async (t) => {
  const sheet = formatSample([row('45', 'correct'), row('49.99', ' WRONG '), row('47', ''), row('46', 'Correct', 'a,"b"\nc')]);
  t.same(readSample(sheet, BAND), { rows: 4, correct: 2, wrong: 1, unreviewed: 1 });
  const reordered = formatCsv([['notes', ...[...SAMPLE_COLUMNS].reverse()], ['looks off', 'wrong', '46', '', '', '', '', '', '']]);
  t.same(readSample(reordered, BAND), { rows: 1, correct: 0, wrong: 1, unreviewed: 0 });
  t.same(readSample(formatSample([]), BAND), { rows: 0, correct: 0, wrong: 0, unreviewed: 0 }, 'header only');
});

t.test('a review sheet: each bad input is an error naming the line', async (t) => {
  const header = SAMPLE_COLUMNS.join(',');
  const cases: [string, RegExp][] = [
    ['', /^line 1: the file is empty/],
    [header.replace(',verdict', ''), /^line 1: missing column verdict$/],
    [header.replace('job_id,worker,', ''), /^line 1: missing columns job_id, worker$/],
    [`${header},verdict`, /^line 1: column "verdict" appears twice$/],
    [formatSample([row('46', 'maybe')]), /^line 2: unknown verdict "maybe": use correct, wrong, or leave it blank$/],
    [formatSample([row('46', 'correct'), row('50', 'correct')]), /^line 3: confidence "50" is not in the band 45 ≤ confidence < 50/],
    [formatSample([row('44.9', 'wrong')]), /^line 2: confidence "44.9" is not in the band/],
    [formatSample([row('abc', 'wrong')]), /^line 2: confidence "abc" is not in the band/],
    [formatSample([row('', 'wrong')]), /^line 2: confidence "" is not in the band/],
    [`${header}\n1,2,3\n`, /^line 2: 3 fields where the header has 8$/],
  ];
  for (const [text, message] of cases) t.throws(() => readSample(text, BAND), { message }, String(message));
});
