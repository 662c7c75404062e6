/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven slicing-by-8.
 *
 * Ours rather than a dependency: the WAL and snapshot formats depend on it bit for bit, and
 * Node 20 has no built-in CRC-32C. Slicing-by-8 consumes 8 bytes per step with 8 table
 * lookups, several times faster than the byte-wise loop, which matters for recovery (every
 * WAL record and every snapshot byte is checked on the way in).
 *
 * Chaining: crc32c(b, crc32c(a)) === crc32c(concat(a, b)).
 */

const POLY_REFLECTED = 0x82f63b78;
const TABLE_COUNT = 8;

function buildTables(): Int32Array {
  const t = new Int32Array(TABLE_COUNT * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < TABLE_COUNT; k++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

const T = buildTables();
// Separate views, so the hot loop indexes with a plain byte and no offset arithmetic.
const T0 = T.subarray(0, 256);
const T1 = T.subarray(256, 512);
const T2 = T.subarray(512, 768);
const T3 = T.subarray(768, 1024);
const T4 = T.subarray(1024, 1280);
const T5 = T.subarray(1280, 1536);
const T6 = T.subarray(1536, 1792);
const T7 = T.subarray(1792, 2048);

/** CRC-32C of data[start, end); `seed` is a previous result to continue from (0 to start fresh). */
export function crc32c(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  if (start < 0 || end > data.length || start > end) {
    throw new Error(`invariant: crc32c range [${start}, ${end}) outside 0..${data.length}`);
  }
  let crc = ~seed;
  let i = start;
  const end8 = end - 7;
  while (i < end8) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) {
    crc = T0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
