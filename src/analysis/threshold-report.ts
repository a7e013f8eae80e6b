import type { TmdbThreshold } from '../schemas/analysis.ts';
import { RULE, type ThresholdDecision } from './threshold-decision.ts';
import type { Band } from './band.ts';
import type { ReviewedSample } from './tmdb-sample-file.ts';

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const ratePercent = (x: number | null) => (x === null ? 'n/a (no attempts)' : percent(x));
const range = (interval: { low: number; high: number } | null) =>
  interval ? `${percent(interval.low)} – ${percent(interval.high)}` : 'none (nothing reviewed)';

/** One sentence that says why the decision is what it is. */
export function decisionReason(d: ThresholdDecision): string {
  const interval = `the 95 % interval ${range(d.interval)}`;
  const boundaries = d.straddles.map(percent).join(' and ');
  switch (d.decision) {
    case 'insufficient sample':
      return `only ${d.reviewed} reviewed row${d.reviewed === 1 ? '' : 's'}; the rule needs at least ${RULE.minReviewed}. ${d.interval ? `For information, ${interval}.` : ''}`.trim();
    case 'more samples needed':
      return `the point estimate ${percent(d.fpRate!)} alone would say "${d.byPointEstimate}", but ${interval} straddles ${boundaries}: review more rows.`;
    case 'proceed':
      return `${interval} lies entirely below ${percent(RULE.proceedBelow)}.`;
    case 'keep':
      return `${interval} lies entirely above ${percent(RULE.keepAbove)}.`;
    case 'owner decides':
      return `${interval} lies between ${percent(RULE.proceedBelow)} and ${percent(RULE.keepAbove)}: a trade-off for the owner.`;
  }
}

export interface ReportInput {
  source: string;
  band: Band;
  sample: ReviewedSample;
  decision: ThresholdDecision;
  /** null when no database was given: the report then leaves the counts out. */
  counts: TmdbThreshold | null;
  generatedAt: string;
}

function countsSection({ band, counts, decision }: ReportInput): string[] {
  if (!counts) return ['No database was given (DATABASE_URL), so the band was not counted.'];
  const { in_band: inBand } = counts;
  const correctShare = decision.interval && { low: 1 - decision.interval.high, high: 1 - decision.interval.low };
  const correct = correctShare
    ? `${Math.round(inBand * (1 - decision.fpRate!))} (${Math.round(inBand * correctShare.low)} – ${Math.round(inBand * correctShare.high)})`
    : 'n/a';
  return [
    `Window: the last ${counts.window.hours} h (${counts.window.from} – ${counts.window.to}).`,
    '',
    '| | |',
    '|---|---|',
    `| match attempts | ${counts.attempts} |`,
    `| matched now (confidence ≥ ${band.to}) | ${counts.matched} — match rate ${ratePercent(counts.match_rate)} |`,
    `| added by the change (${band.from} ≤ confidence < ${band.to}) | ${counts.in_band} |`,
    `| projected match rate at ${band.from} | ${ratePercent(counts.projected_match_rate)} |`,
    `| of the added, correct at the observed FP rate (95 % range) | ${correct} |`,
    `| rows with an invalid confidence (left out) | ${counts.invalid_confidence} |`,
  ];
}

export function renderReport(input: ReportInput): string {
  const { band, sample, decision } = input;
  return [
    `# TMDB threshold review: lower ${band.to} → ${band.from}?`,
    '',
    `Generated ${input.generatedAt} from \`${input.source}\` by \`npm run tmdb:decide\` (docs/TMDB_THRESHOLD.md).`,
    '',
    `## Decision: ${decision.decision}`,
    '',
    capitalize(decisionReason(decision)),
    '',
    '## Review',
    '',
    '| | |',
    '|---|---|',
    `| rows in the sample | ${sample.rows} |`,
    `| reviewed | ${sample.correct + sample.wrong} (correct ${sample.correct}, wrong ${sample.wrong}) |`,
    `| unreviewed (blank verdict, left out) | ${sample.unreviewed} |`,
    `| false-positive rate | ${decision.fpRate === null ? 'n/a' : percent(decision.fpRate)} |`,
    `| 95 % Wilson interval | ${range(decision.interval)} |`,
    '',
    '## What the change would add',
    '',
    ...countsSection(input),
    '',
    '## The rule',
    '',
    `FP < ${percent(RULE.proceedBelow)}: proceed; FP > ${percent(RULE.keepAbove)}: keep the threshold at ${band.to}; ` +
      'in between: the owner decides. The answer stands only when the whole 95 % interval lies on one side of each ' +
      `boundary, and needs at least ${RULE.minReviewed} reviewed rows.`,
    '',
  ].join('\n');
}
