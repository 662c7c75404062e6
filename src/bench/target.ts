/**
 * Which node `kvctl bench` loads: the leader (asked through RAFT.LEADER), or a given node.
 */
import { KvClient } from '../client/kv-client.js';
import { findNode, readManifest, respAddress } from '../cluster/manifest.js';

export interface BenchTarget {
  readonly nodeId: number;
  readonly address: string;
}

export async function resolveBenchTarget(dir: string, nodeId?: number): Promise<BenchTarget> {
  const manifest = await readManifest(dir);
  if (nodeId !== undefined) return { nodeId, address: respAddress(findNode(manifest, nodeId)) };
  const client = new KvClient({ seeds: manifest.nodes.map(respAddress) });
  try {
    const leader = await client.findLeader();
    if (leader === undefined)
      throw new Error(`no leader in the cluster in ${dir} (see \`kvctl cluster status\`)`);
    return { nodeId: leader.id, address: leader.address };
  } finally {
    await client.close();
  }
}
