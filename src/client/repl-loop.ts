/**
 * The two front ends of the REPL: an interactive terminal loop (node:readline with completion
 * and persistent history) and a plain line-by-line loop for pipes (no prompt, no colors).
 */
import readline from 'node:readline';

import { loadHistory, MAX_HISTORY_LINES, saveHistory } from './repl-history.js';
import { type ReplOutput, type ReplSession, completeReplLine } from './repl.js';

export interface PlainLoopResult {
  readonly commands: number;
  readonly errors: number;
}

/** Reads commands from `input` one line at a time, runs them in order, writes plain results. */
export async function runPlainLoop(
  session: ReplSession,
  input: NodeJS.ReadableStream,
  write: (text: string) => void,
): Promise<PlainLoopResult> {
  const lines = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  let commands = 0;
  let errors = 0;
  try {
    for await (const line of lines) {
      const output = await session.execute(line);
      if (output === undefined) continue;
      commands++;
      if (output.exit === true) break;
      if (output.isError) errors++;
      if (output.text !== '') write(`${output.text}\n`);
    }
  } finally {
    lines.close();
  }
  return { commands, errors };
}

export interface TtyLoopOptions {
  readonly historyFile: string;
  readonly color: boolean;
  readonly banner: string;
  readonly prompt: () => string;
}

const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

function render(output: ReplOutput, color: boolean): string {
  const text = output.isError && color ? `${RED}${output.text}${RESET}` : output.text;
  if (output.meta === undefined) return text;
  const meta = `(${output.meta})`;
  return `${text}\n${color ? `${DIM}${meta}${RESET}` : meta}`;
}

/** Interactive loop on a terminal; resolves when the user types .exit or presses Ctrl-D. */
export async function runTtyLoop(
  session: ReplSession,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  options: TtyLoopOptions,
): Promise<void> {
  const history = await loadHistory(options.historyFile);
  const rl = readline.createInterface({
    input,
    output,
    terminal: true,
    history,
    historySize: MAX_HISTORY_LINES,
    removeHistoryDuplicates: true,
    completer: (line: string) => completeReplLine(line),
  });
  let latestHistory: string[] = history;
  rl.on('history', (lines: string[]) => {
    latestHistory = lines;
  });
  // Ctrl-C clears a half-typed line, or leaves on an empty one (readline would just pause).
  rl.on('SIGINT', () => {
    if (rl.line === '') {
      rl.close();
    } else {
      rl.write(null, { ctrl: true, name: 'u' });
      output.write('\n');
      rl.prompt();
    }
  });
  output.write(`${options.banner}\n`);
  // The async iterator buffers lines typed or pasted while a command is still running.
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.setPrompt(options.prompt());
      rl.prompt();
      const next = await lines.next();
      if (next.done === true) break;
      const result = await session.execute(next.value);
      if (result === undefined) continue;
      if (result.exit === true) break;
      output.write(`${render(result, options.color)}\n`);
    }
  } finally {
    rl.close();
    await saveHistory(options.historyFile, latestHistory);
  }
}
