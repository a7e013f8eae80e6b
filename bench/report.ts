import { readFile, writeFile } from 'node:fs/promises';

/**
 * Replaces the `## heading` section of a markdown file (or appends it), so each bench owns its
 * section and re-running one never erases another's figures.
 */
export async function replaceSection(path: string, heading: string, body: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const start = text.search(new RegExp(`^## ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm'));
  if (start < 0) {
    await writeFile(path, `${text.trimEnd()}\n\n${section}`.trimStart());
    return;
  }
  const next = text.slice(start + 3).search(/^## /m);
  const end = next < 0 ? text.length : start + 3 + next;
  await writeFile(path, `${text.slice(0, start)}${section}${next < 0 ? '' : '\n'}${text.slice(end)}`);
}
