/**
 * RESP parser and writer throughput: pipelined `SET key:NNN <100 bytes>` fed in 64 KiB socket-sized
 * chunks (frames span chunk boundaries, as on a real socket); then KV snapshot encode/decode of 2 M keys.
 * Run: npx tsx scripts/bench-resp.ts
 */
import { RespParser, RespWriter } from '../src/resp/index.js';
import { KvStore } from '../src/kv/store.js';
import { decodeKvSnapshot, encodeKvSnapshot } from '../src/kv/snapshot.js';

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

// ---------------------------------------------------------------------------------------------
// KV snapshot: encode and decode 2,000,000 keys with 100-byte values (the storage helper's
// recovery benchmark restores this much and must be ready in <= 2 s in total).
// Tip: `node --max-semi-space-size=64` (bigger young generation) speeds up bulk restore.
// ---------------------------------------------------------------------------------------------
const SNAPSHOT_KEYS = Number(process.env.BENCH_SNAPSHOT_KEYS ?? 2_000_000);
{
  const store = new KvStore();
  const snapshotValue = Buffer.alloc(100, 0x7a);
  let t = process.hrtime.bigint();
  for (let i = 0; i < SNAPSHOT_KEYS; i++) {
    store.apply({
      type: 'set',
      key: Buffer.from(`key:${i}`),
      value: snapshotValue,
      mode: 'none',
      get: false,
    });
  }
  const fillMs = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`kv: applied ${SNAPSHOT_KEYS} SETs in ${fillMs.toFixed(0)} ms`);

  t = process.hrtime.bigint();
  const encodeCpu0 = process.cpuUsage();
  const chunks = [...encodeKvSnapshot(store)];
  const encodeCpu = process.cpuUsage(encodeCpu0);
  const encodeMs = Number(process.hrtime.bigint() - t) / 1e6;
  const snapshotBytes = chunks.reduce((n, c) => n + c.length, 0);
  console.log(
    `snapshot encode: ${encodeMs.toFixed(0)} ms wall, ${((encodeCpu.user + encodeCpu.system) / 1000).toFixed(0)} ms cpu, ` +
      `${(snapshotBytes / 1048576).toFixed(0)} MiB in ${chunks.length} chunks`,
  );

  // CPU time (all threads, GC helpers included) next to wall time: on a loaded machine the wall
  // time mostly measures waiting for a core.
  let bestDecodeMs = Infinity;
  for (let r = 0; r < 3; r++) {
    t = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const restored = await decodeKvSnapshot(chunks);
    const cpu = process.cpuUsage(cpu0);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (restored.size !== SNAPSHOT_KEYS) throw new Error(`invariant: restored ${restored.size} keys`);
    bestDecodeMs = Math.min(bestDecodeMs, ms);
    console.log(
      `snapshot decode round ${r + 1}: ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms cpu`,
    );
  }
  console.log(`snapshot decode: ${bestDecodeMs.toFixed(0)} ms for ${SNAPSHOT_KEYS} keys (best of 3)`);
}

// Machine speed reference, so numbers from a loaded machine can be read in context.
{
  const t = process.hrtime.bigint();
  let x = 0;
  for (let i = 0; i < 200_000_000; i++) x = (x + i) | 0;
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(
    `calibration: 200M integer adds in ${ms.toFixed(0)} ms (an idle modern core: ~150 ms) [${x & 1}]`,
  );
}
