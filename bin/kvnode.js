#!/usr/bin/env -S node --max-semi-space-size=4
// The flag is KVNODE_NODE_FLAGS (src/cluster/runtime-flags.ts): keep the two in step.
import '../dist/node/main.js';
