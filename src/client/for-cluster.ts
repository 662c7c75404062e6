/**
 * A KvClient seeded with the RESP addresses of a cluster directory's manifest.
 */
import { readManifest, respAddress } from '../cluster/manifest.js';
import { type KvClientOptions, KvClient } from './kv-client.js';

export async function clientForCluster(
  dir: string,
  options: Omit<KvClientOptions, 'seeds'> = {},
): Promise<KvClient> {
  const manifest = await readManifest(dir);
  return new KvClient({ ...options, seeds: manifest.nodes.map(respAddress) });
}

/** Runs one command against the cluster and closes the client, whatever happens. */
export async function oneShot<T>(dir: string, action: (client: KvClient) => Promise<T>): Promise<T> {
  const client = await clientForCluster(dir);
  try {
    return await action(client);
  } finally {
    await client.close();
  }
}
