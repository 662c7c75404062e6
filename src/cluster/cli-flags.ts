/**
 * Flags shared by the kvctl commands, so `--dir` means the same everywhere.
 */
import { Args, Flags } from '@oclif/core';

import { defaultClusterDir } from './manifest.js';

export const dirFlag = Flags.string({
  char: 'd',
  description: 'cluster directory (manifest, node data, logs, pid files)',
  env: 'KVCTL_DIR',
  default: async () => defaultClusterDir({}),
  // Defaults are computed at parse time; do not show a user-specific path in --help.
  noCacheDefault: true,
});

export const nodeIdArg = Args.integer({
  description: 'node id (see `kvctl cluster status`)',
  required: true,
  min: 1,
});
