/**
 * REPL history kept across sessions in `<cluster dir>/repl_history`, oldest line first (like a
 * shell's). node:readline wants newest first; these functions convert.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const HISTORY_FILE = 'repl_history';
export const MAX_HISTORY_LINES = 1_000;

export function historyPath(clusterDir: string): string {
  return path.join(clusterDir, HISTORY_FILE);
}

/** Newest first, at most MAX_HISTORY_LINES; empty when the file does not exist. */
export async function loadHistory(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-MAX_HISTORY_LINES)
    .reverse();
}

/** Saves readline's history (newest first), trimmed to the bound, privately (it may hold values). */
export async function saveHistory(file: string, newestFirst: readonly string[]): Promise<void> {
  const lines = newestFirst.slice(0, MAX_HISTORY_LINES).reverse();
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
}
