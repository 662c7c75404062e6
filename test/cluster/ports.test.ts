import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createManifest } from '../../src/cluster/manifest.js';
import { describeBusyPorts, findBusyPorts, isPortFree } from '../../src/cluster/ports.js';

// Port range of this file: 24950-24979.
const BASE_PORT = 24950;

describe('port checks', () => {
  let server: net.Server;
  beforeAll(async () => {
    server = net.createServer();
    await new Promise<void>((resolve) => server.listen(BASE_PORT + 11, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('tells a taken port from a free one', async () => {
    expect(await isPortFree('127.0.0.1', BASE_PORT + 11)).toBe(false);
    expect(await isPortFree('127.0.0.1', BASE_PORT + 12)).toBe(true);
  });

  it('names the node and role of every busy port', async () => {
    const manifest = createManifest({ nodeCount: 3, basePort: BASE_PORT });
    const busy = await findBusyPorts(manifest.nodes);
    expect(busy).toEqual([{ nodeId: 2, role: 'resp', address: `127.0.0.1:${BASE_PORT + 11}` }]);
    expect(describeBusyPorts(busy)).toBe(
      `port already in use: 127.0.0.1:${BASE_PORT + 11} (node 2 resp); stop whatever listens there or pick another --base-port`,
    );
  });
});
