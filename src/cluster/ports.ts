/**
 * Port checks done before spawning, so that "port in use" is one clear error naming the port
 * and its owner-to-be, instead of a node dying in its log file a second later.
 */
import net from 'node:net';

import { type NodeEntry } from './manifest.js';

/** True when nothing listens on host:port (we could bind it ourselves). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    // exclusive: do not share a handle with a cluster primary; we want the kernel's answer.
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

export interface BusyPort {
  readonly nodeId: number;
  readonly role: 'peer' | 'resp' | 'http';
  readonly address: string;
}

/** The ports of these nodes that are taken. Only meaningful for nodes on this machine. */
export async function findBusyPorts(nodes: readonly NodeEntry[]): Promise<BusyPort[]> {
  const busy: BusyPort[] = [];
  for (const node of nodes) {
    const roles = [
      ['peer', node.peerPort],
      ['resp', node.respPort],
      ['http', node.httpPort],
    ] as const;
    for (const [role, port] of roles) {
      if (!(await isPortFree(node.host, port))) {
        busy.push({ nodeId: node.id, role, address: `${node.host}:${port}` });
      }
    }
  }
  return busy;
}

export function describeBusyPorts(busy: readonly BusyPort[]): string {
  const list = busy.map((entry) => `${entry.address} (node ${entry.nodeId} ${entry.role})`).join(', ');
  return `port${busy.length === 1 ? '' : 's'} already in use: ${list}; stop whatever listens there or pick another --base-port`;
}
