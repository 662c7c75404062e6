/**
 * The REPL's logic, without a terminal: line parsing (redis-cli quoting), tab completion,
 * reply formatting, and one `ReplSession.execute(line)` step. commands/repl.ts wires it to
 * node:readline (TTY) or to plain line-by-line stdin. Meta commands that act on processes
 * (.kill, .start, .status) are injected, so this module does not depend on src/cluster.
 */
import {
  type KvClient,
  type RespValue,
  OutcomeUnknownError,
  ReplyError,
  UnavailableError,
} from './kv-client.js';

export const KV_COMMANDS = [
  'APPEND',
  'DBSIZE',
  'DECR',
  'DECRBY',
  'DEL',
  'EXISTS',
  'GET',
  'GETSET',
  'INCR',
  'INCRBY',
  'INFO',
  'KEYS',
  'MGET',
  'MSET',
  'PING',
  'RAFT.LEADER',
  'RAFT.STATUS',
  'SET',
  'STRLEN',
] as const;

export const META_COMMANDS = ['.exit', '.help', '.kill', '.leader', '.start', '.status'] as const;

export const MAX_LINE_CHARS = 1_048_576;

export type ParsedLine =
  | { readonly kind: 'empty' }
  | { readonly kind: 'meta'; readonly name: string; readonly args: string[] }
  | { readonly kind: 'command'; readonly argv: string[] }
  | { readonly kind: 'error'; readonly message: string };

const ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  a: '\x07',
  '\\': '\\',
  '"': '"',
};

/**
 * Splits a line into words like redis-cli: whitespace separates, "double quotes" allow \n \t
 * \xHH \" \\ escapes, 'single quotes' are literal except \'. A closing quote must be followed by
 * whitespace or the end of the line.
 */
export function splitWords(line: string): string[] {
  if (line.length > MAX_LINE_CHARS) throw new Error(`line longer than ${MAX_LINE_CHARS} characters`);
  const words: string[] = [];
  let index = 0;
  while (index < line.length) {
    while (index < line.length && /\s/.test(line[index] ?? '')) index++;
    if (index >= line.length) break;
    let word = '';
    const quote = line[index];
    if (quote === '"' || quote === "'") {
      index++;
      let closed = false;
      while (index < line.length) {
        const char = line[index] ?? '';
        if (char === quote) {
          closed = true;
          index++;
          break;
        }
        if (char === '\\' && quote === "'" && line[index + 1] === "'") {
          word += "'";
          index += 2;
        } else if (char === '\\' && quote === '"') {
          const next = line[index + 1] ?? '';
          const hex = /^x([0-9a-fA-F]{2})/.exec(line.slice(index + 1, index + 4));
          if (hex?.[1] !== undefined) {
            word += String.fromCharCode(Number.parseInt(hex[1], 16));
            index += 4;
          } else {
            word += ESCAPES[next] ?? next;
            index += 2;
          }
        } else {
          word += char;
          index++;
        }
      }
      if (!closed) throw new Error('unbalanced quotes');
      if (index < line.length && !/\s/.test(line[index] ?? '')) {
        throw new Error('closing quote must be followed by a space');
      }
    } else {
      while (index < line.length && !/\s/.test(line[index] ?? '')) word += line[index++];
    }
    words.push(word);
  }
  return words;
}

export function parseReplLine(line: string): ParsedLine {
  let words: string[];
  try {
    words = splitWords(line);
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  const [first, ...rest] = words;
  if (first === undefined) return { kind: 'empty' };
  if (first.startsWith('.') && line.trimStart().startsWith('.')) {
    return { kind: 'meta', name: first.toLowerCase(), args: rest };
  }
  return { kind: 'command', argv: [first.toUpperCase(), ...rest] };
}

/** readline completer: completes the first word (command or meta command), case-preserving. */
export function completeReplLine(line: string): [string[], string] {
  const leading = line.match(/^\s*/)?.[0] ?? '';
  const rest = line.slice(leading.length);
  if (/\s/.test(rest)) return [[], line]; // past the first word: nothing to complete
  const candidates: readonly string[] = rest.startsWith('.') ? META_COMMANDS : KV_COMMANDS;
  const lower = rest === rest.toLowerCase() && rest !== '';
  const hits = candidates
    .filter((candidate) => candidate.startsWith(rest.toUpperCase()) || candidate.startsWith(rest))
    .map((candidate) => (lower && !candidate.startsWith('.') ? candidate.toLowerCase() : candidate));
  return [hits.length > 0 ? hits : [], rest];
}

function quoteString(value: string): string {
  return JSON.stringify(value);
}

/**
 * Formats a reply. plain (pipes): strings raw, integers as digits, nil as "(nil)", arrays one
 * element per line — easy to consume from scripts. Otherwise redis-cli's human style.
 */
export function formatReply(value: RespValue, plain: boolean, indent = ''): string {
  if (value === null) return plain ? '(nil)' : '(nil)';
  if (typeof value === 'number') return plain ? String(value) : `(integer) ${value}`;
  if (typeof value === 'string') return plain || value === 'OK' ? value : quoteString(value);
  if (value.length === 0) return '(empty array)';
  if (plain) return value.map((item) => formatReply(item, true)).join('\n');
  const width = String(value.length).length;
  return value
    .map((item, index) => {
      const label = `${String(index + 1).padStart(width)}) `;
      const inner = formatReply(item, false, indent + ' '.repeat(label.length));
      return `${index === 0 ? '' : indent}${label}${inner}`;
    })
    .join('\n');
}

export function formatLatency(latencyMs: number): string {
  return latencyMs < 10 ? `${latencyMs.toFixed(2)} ms` : `${Math.round(latencyMs)} ms`;
}

/** Process actions the REPL's meta commands need; commands/repl.ts binds them to src/cluster. */
export interface ReplClusterOps {
  statusText(): Promise<string>;
  kill(id: number): Promise<string>;
  start(id: number): Promise<string>;
}

export interface ReplOutput {
  readonly text: string;
  readonly isError: boolean;
  /** Who answered and how fast; absent for meta commands and errors. */
  readonly meta?: string;
  readonly exit?: boolean;
}

export const HELP_TEXT = [
  'Type Redis commands (SET k v, GET k, DEL k, INCR k, MGET a b, ...); Tab completes.',
  'Quote values with spaces: SET greeting "hello world".',
  'Meta commands:',
  '  .status      show the cluster (roles, terms, indexes)',
  '  .leader      ask the cluster who leads',
  '  .kill ID     SIGKILL node ID (a crash)',
  '  .start ID    start node ID again',
  '  .help        this text',
  '  .exit        leave (or Ctrl-D)',
].join('\n');

function parseNodeId(args: readonly string[]): number {
  const id = Number(args[0]);
  if (args.length !== 1 || !Number.isInteger(id) || id < 1)
    throw new Error('expected one node id, e.g. .kill 2');
  return id;
}

export class ReplSession {
  constructor(
    private readonly client: KvClient,
    private readonly cluster: ReplClusterOps,
    private readonly plain: boolean,
  ) {}

  async execute(line: string): Promise<ReplOutput | undefined> {
    const parsed = parseReplLine(line);
    switch (parsed.kind) {
      case 'empty':
        return undefined;
      case 'error':
        return { text: `(error) ${parsed.message}`, isError: true };
      case 'meta':
        return this.meta(parsed.name, parsed.args);
      case 'command':
        return this.command(parsed.argv);
    }
  }

  private async command(argv: string[]): Promise<ReplOutput> {
    try {
      const reply = await this.client.command(argv);
      return {
        text: formatReply(reply.value, this.plain),
        isError: false,
        meta: `${reply.address}, ${formatLatency(reply.latencyMs)}${reply.attempts > 1 ? `, ${reply.attempts} attempts` : ''}`,
      };
    } catch (error) {
      if (error instanceof ReplyError) return { text: `(error) ${error.message}`, isError: true };
      if (error instanceof OutcomeUnknownError || error instanceof UnavailableError) {
        return { text: `(error) ${error.message}`, isError: true };
      }
      return { text: `(error) ${(error as Error).message}`, isError: true };
    }
  }

  private async meta(name: string, args: string[]): Promise<ReplOutput> {
    try {
      switch (name) {
        case '.exit':
        case '.quit':
          return { text: '', isError: false, exit: true };
        case '.help':
          return { text: HELP_TEXT, isError: false };
        case '.status':
          return { text: await this.cluster.statusText(), isError: false };
        case '.leader': {
          const leader = await this.client.findLeader();
          return {
            text: leader === undefined ? 'no leader known' : `node ${leader.id} at ${leader.address}`,
            isError: false,
          };
        }
        case '.kill':
          return { text: await this.cluster.kill(parseNodeId(args)), isError: false };
        case '.start':
          return { text: await this.cluster.start(parseNodeId(args)), isError: false };
        default:
          return { text: `(error) unknown meta command ${name}; try .help`, isError: true };
      }
    } catch (error) {
      return { text: `(error) ${(error as Error).message}`, isError: true };
    }
  }
}
