import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clusterUp } from '../../src/cluster/lifecycle.js';
import { packageRoot } from '../../src/cluster/process.js';
import { makeTempDir, teardownCluster } from './helpers.js';

// Ports of this file: 24100-24122. Real kvnode processes and the built CLI (bin/kvctl.js).
const BASE_PORT = 24100;
const KVCTL = path.join(packageRoot(), 'bin', 'kvctl.js');

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Drives a program on a pseudo-terminal through util-linux `script`, reading what it prints. */
class Pty {
  private output = '';
  private readonly subprocess: ResultPromise;

  constructor(command: string) {
    this.subprocess = execa('script', ['-qfec', command, '/dev/null'], {
      reject: false,
      stdin: 'pipe',
      // Not TERM=dumb: node:readline disables Tab completion on dumb terminals.
      env: { TERM: 'xterm', NO_COLOR: '1' },
    });
    this.subprocess.stdout?.on('data', (chunk: Buffer) => {
      // Cursor movement and line clearing are noise for matching: keep the text only.
      this.output += chunk.toString().replace(ANSI_ESCAPE, '');
    });
  }

  send(keys: string): void {
    this.subprocess.stdin?.write(keys);
  }

  /** Waits until the output since `from` matches; returns the offset after the match. */
  async expect(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = pattern.exec(this.output.slice(from));
      if (match) return from + match.index + match[0].length;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`pty: no ${pattern} in output:\n${this.output.slice(from)}`);
  }

  get length(): number {
    return this.output.length;
  }

  async exit(): Promise<number | undefined> {
    this.subprocess.stdin?.end();
    const result = await this.subprocess;
    return result.exitCode;
  }

  kill(): void {
    this.subprocess.kill('SIGKILL');
  }
}

describe('kvctl repl against a real cluster', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('repl');
    await clusterUp({ dir, basePort: BASE_PORT, nodeCount: 3 });
  });
  afterAll(async () => {
    await teardownCluster(dir);
  });

  it('piped stdin: one plain result per command, no prompt', async () => {
    const result = await execa('node', [KVCTL, 'repl', '--dir', dir], { input: 'SET a 1\nGET a\n' });
    expect(result.stdout).toBe('OK\n1');
    expect(result.exitCode).toBe(0);
  });

  it('piped stdin: errors are readable and make the exit code 1', async () => {
    const result = await execa('node', [KVCTL, 'repl', '--dir', dir], {
      input: 'INCR a\nNOSUCHCMD x\nMGET a missing\n',
      reject: false,
    });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('2');
    expect(lines[1]).toMatch(/^\(error\) /);
    expect(lines.slice(2)).toEqual(['2', '(nil)']);
    expect(result.exitCode).toBe(1);
  });

  it('terminal: prompt, Tab completion, node + latency per reply, meta commands, history across sessions', async () => {
    const command = `node ${KVCTL} repl --dir ${dir}`;
    const first = new Pty(command);
    try {
      let at = await first.expect(/> $/m);
      first.send('SET pty-key "pty value"\r');
      at = await first.expect(/OK\r?\n\(127\.0\.0\.1:241\d\d, [\d.]+ ms\)/, at);
      // Tab in its own write: readline treats a multi-character chunk as a paste (no completion).
      first.send('GE');
      at = await first.expect(/GE/, at);
      first.send('\t');
      at = await first.expect(/T/, at); // completed to GET
      first.send(' pty-key\r');
      at = await first.expect(/"pty value"/, at);
      first.send('.leader\r');
      at = await first.expect(/node \d at 127\.0\.0\.1:2411\d/, at);
      first.send('.status\r');
      at = await first.expect(/leader: node \d/, at);
      first.send('.bogus\r');
      await first.expect(/\(error\) unknown meta command \.bogus/, at);
      first.send('\x04'); // Ctrl-D
      expect(await first.exit()).toBe(0);
    } finally {
      first.kill();
    }
    const history = await fs.readFile(path.join(dir, 'repl_history'), 'utf8');
    expect(history.split('\n')).toContain('GET pty-key');

    const second = new Pty(command);
    try {
      let at = await second.expect(/> $/m);
      second.send('\x1b[A'); // Up: the previous session's last line
      at = await second.expect(/\.bogus/, at);
      second.send('\x15GET pty-key\r'); // Ctrl-U clears, then a fresh command
      await second.expect(/"pty value"/, at);
      second.send('.exit\r');
      expect(await second.exit()).toBe(0);
    } finally {
      second.kill();
    }
  });
});
