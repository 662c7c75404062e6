export {
  RespParser,
  RespProtocolError,
  parseLongLong,
  splitInlineArgs,
  ARG_OVERHEAD_BYTES,
  DEFAULT_MAX_ARGS,
  DEFAULT_MAX_BULK_BYTES,
  DEFAULT_MAX_INLINE_BYTES,
} from './parser.js';
export type { RespParserOptions } from './parser.js';
export { RespWriter } from './writer.js';
