import { readFile, writeFile } from 'node:fs/promises';

export const rowsLabel = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/**
 * Replaces the generated part of a document (between its result markers) and keeps the prose
 * around it, so the written analysis survives a re-run.
 */
export async function writeResults(path: string, title: string, command: string, content: string): Promise<void> {
  const start = `<!-- results:start (written by ${command}) -->`;
  const end = '<!-- results:end -->';
  const existing = await readFile(path, 'utf8').catch(() => `# ${title}\n\n${start}\n${end}\n`);
  const [before, rest] = existing.split(/<!-- results:start[^>]*-->/);
  const after = rest?.split(end)[1] ?? '\n';
  await writeFile(path, `${before}${start}\n${content}\n${end}${after}`);
}
