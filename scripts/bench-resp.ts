/**
 * RESP parser and writer throughput: pipelined `SET key:NNN <100 bytes>` fed in 64 KiB socket-sized
 * chunks (frames span chunk boundaries, as on a real socket). Run: npx tsx scripts/bench-resp.ts
 */
import { RespParser, RespWriter } from '../src/resp/index.js';

const COMMANDS = 2_000_000;
const CHUNK_BYTES = 64 * 1024;
const ROUNDS = 5;

function buildInput(): Buffer {
  const value = Buffer.alloc(100, 0x78);
  const w = new RespWriter(1 << 20);
  const parts: Buffer[] = [];
  for (let i = 0; i < COMMANDS; i++) {
    w.arrayHeader(3).bulk('SET').bulk(`key:${i}`).bulk(value);
    if (w.byteLength > 1 << 20) parts.push(w.take());
  }
  parts.push(w.take());
  return Buffer.concat(parts);
}

function parseAll(input: Buffer, chunks: Buffer[]): number {
  const parser = new RespParser();
  let count = 0;
  let checksum = 0;
  for (const chunk of chunks) {
    parser.feed(chunk);
    for (let cmd = parser.next(); cmd !== null; cmd = parser.next()) {
      count++;
      checksum += cmd[1]!.length;
    }
  }
  if (count !== COMMANDS || checksum === 0 || parser.bufferedBytes !== 0) {
    throw new Error(`invariant: parsed ${count} of ${COMMANDS} commands (${input.length} bytes)`);
  }
  return count;
}

const input = buildInput();
const chunks: Buffer[] = [];
for (let at = 0; at < input.length; at += CHUNK_BYTES) chunks.push(input.subarray(at, at + CHUNK_BYTES));
console.log(
  `input: ${COMMANDS} commands, ${(input.length / 1048576).toFixed(1)} MiB, ${chunks.length} chunks`,
);

let best = 0;
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  parseAll(input, chunks);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rate = COMMANDS / (ms / 1000);
  best = Math.max(best, rate);
  console.log(`parse round ${r + 1}: ${ms.toFixed(0)} ms, ${(rate / 1e6).toFixed(2)} M commands/s`);
}
console.log(`parser: ${(best / 1e6).toFixed(2)} M commands/s (best of ${ROUNDS})`);

// Writer: one +OK per command plus a 100-byte GET reply, taken every 1000 replies (a socket read).
const value = Buffer.alloc(100, 0x79);
const w = new RespWriter();
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < COMMANDS; i++) {
  if (i & 1) w.simpleString('OK');
  else w.bulk(value);
  if (i % 1000 === 999) bytes += w.take().length;
}
bytes += w.take().length;
const writerMs = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(
  `writer: ${(COMMANDS / (writerMs / 1000) / 1e6).toFixed(2)} M replies/s (${(bytes / 1048576).toFixed(0)} MiB)`,
);
