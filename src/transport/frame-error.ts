/**
 * The one error type for bytes from the network that do not make sense. Anything a peer (or an
 * attacker) sends is decoded with full validation; a violation throws FrameError, which the
 * connection turns into "close this socket" — never into a crash or a partially applied message.
 */
export type FrameErrorCode =
  /** The bytes end before a field that the layout requires. */
  | 'truncated'
  /** Bytes left over after a complete structure. */
  | 'trailing-bytes'
  /** Unknown codec or protocol version. */
  | 'bad-version'
  /** A field holds a value outside its domain (unknown type, id 0, number beyond 2^53, ...). */
  | 'bad-value'
  /** A declared length or count exceeds a limit or the bytes actually present. */
  | 'too-large'
  /** A frame kind that is unknown, or not allowed in the connection's current state. */
  | 'bad-kind';

export class FrameError extends Error {
  readonly code: FrameErrorCode;

  constructor(code: FrameErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'FrameError';
    this.code = code;
  }
}
