/** A reply to one client command, independent of the wire (RESP or HTTP). */
export type Reply =
  | { readonly t: 'simple'; readonly s: string }
  | { readonly t: 'error'; readonly s: string }
  | { readonly t: 'int'; readonly n: number | bigint }
  | { readonly t: 'bulk'; readonly b: Buffer | null }
  | { readonly t: 'array'; readonly items: readonly Reply[] | null }
  /** A reply already in RESP form (a forwarded command's answer from the leader). */
  | { readonly t: 'raw'; readonly buf: Buffer };

export const OK: Reply = { t: 'simple', s: 'OK' };
export const NIL: Reply = { t: 'bulk', b: null };
export const err = (s: string): Reply => ({ t: 'error', s });
export const int = (n: number | bigint): Reply => ({ t: 'int', n });
export const bulk = (b: Buffer | string | null): Reply => ({
  t: 'bulk',
  b: typeof b === 'string' ? Buffer.from(b) : b,
});
export const simple = (s: string): Reply => ({ t: 'simple', s });
export const array = (items: readonly Reply[] | null): Reply => ({ t: 'array', items });
