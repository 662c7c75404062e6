/** One line per event: `<iso-time> <level> <message> key=value ...` on stdout (errors on stderr). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out += ` ${key}=${/[\s"]/.test(text ?? '') ? JSON.stringify(text) : text}`;
  }
  return out;
}

export function createLogger(opts: { debug: boolean; prefix?: string }): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    const line = `${new Date().toISOString()} ${level} ${opts.prefix ?? ''}${message}${formatFields(fields)}\n`;
    (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m, f) => {
      if (opts.debug) write('debug', m, f);
    },
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
