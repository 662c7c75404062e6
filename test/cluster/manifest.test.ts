import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  allocatePorts,
  buildRemotes,
  createManifest,
  defaultClusterDir,
  kvnodeArgs,
  manifestPath,
  nodePaths,
  parseRemoteSpec,
  pathsOf,
  readManifest,
  validateManifest,
  writeManifest,
} from '../../src/cluster/manifest.js';

describe('allocatePorts', () => {
  it('gives peer B+i-1, resp B+10+i-1, http B+20+i-1', () => {
    expect(allocatePorts(7000, 3)).toEqual([
      { id: 1, peerPort: 7000, respPort: 7010, httpPort: 7020 },
      { id: 2, peerPort: 7001, respPort: 7011, httpPort: 7021 },
      { id: 3, peerPort: 7002, respPort: 7012, httpPort: 7022 },
    ]);
  });

  it('never hands out the same port twice for up to 9 nodes', () => {
    const ports = allocatePorts(24000, 9).flatMap((p) => [p.peerPort, p.respPort, p.httpPort]);
    expect(new Set(ports).size).toBe(27);
  });

  it('rejects node counts and base ports outside the scheme', () => {
    expect(() => allocatePorts(7000, 0)).toThrow(/node count/);
    expect(() => allocatePorts(7000, 10)).toThrow(/node count/);
    expect(() => allocatePorts(80, 3)).toThrow(/base port/);
    expect(() => allocatePorts(65520, 3)).toThrow(/base port/);
  });
});

describe('createManifest / validateManifest', () => {
  it('creates a valid manifest with a fresh 256-bit secret', () => {
    const a = createManifest({ nodeCount: 3, basePort: 7000 });
    const b = createManifest({ nodeCount: 3, basePort: 7000 });
    expect(a.clusterSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(a.clusterSecret).not.toBe(b.clusterSecret);
    expect(a.nodes.map((n) => n.host)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(validateManifest(JSON.parse(JSON.stringify(a)))).toEqual(a);
  });

  it('places nodes remotely when asked, and refuses unknown ids', () => {
    const remote = { ssh: 'kv@10.0.0.3', remoteDir: '/srv/kv', kvctlPath: '/opt/kvctl' };
    const manifest = createManifest({ nodeCount: 3, basePort: 7000, remotes: new Map([[3, remote]]) });
    expect(manifest.nodes[2]?.remote).toEqual(remote);
    expect(manifest.nodes[0]?.remote).toBeUndefined();
    expect(() => createManifest({ nodeCount: 3, basePort: 7000, remotes: new Map([[4, remote]]) })).toThrow(
      /unknown node 4/,
    );
  });

  it('names the broken field of a hand-edited manifest', () => {
    const good = JSON.parse(JSON.stringify(createManifest({ nodeCount: 2, basePort: 7000 })));
    expect(() => validateManifest({ ...good, version: 2 })).toThrow(/version/);
    expect(() => validateManifest({ ...good, nodes: [] })).toThrow(/non-empty/);
    const badPort = structuredClone(good);
    badPort.nodes[1].respPort = 70000;
    expect(() => validateManifest(badPort)).toThrow(/nodes\[1\]\.respPort/);
    const duplicate = structuredClone(good);
    duplicate.nodes[1].id = 1;
    expect(() => validateManifest(duplicate)).toThrow(/duplicate node id 1/);
    const clash = structuredClone(good);
    clash.nodes[1].httpPort = clash.nodes[0].respPort;
    expect(() => validateManifest(clash)).toThrow(/used twice/);
    const dash = structuredClone(good);
    dash.nodes[0].remote = { ssh: '-oProxyCommand=x', remoteDir: '/r', kvctlPath: '/k' };
    expect(() => validateManifest(dash)).toThrow(/must not start with "-"/);
  });
});

describe('manifest files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-manifest-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('round-trips through cluster.json, written 0600', async () => {
    const manifest = createManifest({ nodeCount: 3, basePort: 24000 });
    const clusterDir = path.join(dir, 'c');
    await writeManifest(clusterDir, manifest);
    expect(await readManifest(clusterDir)).toEqual(manifest);
    expect((await fs.stat(manifestPath(clusterDir))).mode & 0o777).toBe(0o600);
  });

  it('explains a missing cluster and invalid JSON', async () => {
    await expect(readManifest(dir)).rejects.toThrow(/no cluster in .*cluster up/);
    await fs.writeFile(manifestPath(dir), '{ nope');
    await expect(readManifest(dir)).rejects.toThrow(/invalid JSON/);
  });

  it('defaults the cluster dir to $KVCTL_DIR, else ~/.kvctl/default', () => {
    expect(defaultClusterDir({ KVCTL_DIR: '/tmp/x' })).toBe('/tmp/x');
    expect(defaultClusterDir({})).toBe(path.join(os.homedir(), '.kvctl', 'default'));
  });
});

describe('kvnodeArgs', () => {
  it('passes every address, the secret by file, and extra args last', () => {
    const manifest = createManifest({ nodeCount: 3, basePort: 7000, nodeArgs: ['--tick-ms', '10'] });
    const node = manifest.nodes[1]!;
    const args = kvnodeArgs(manifest, node, pathsOf('/c', node));
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--id')).toBe('2');
    expect(flag('--data-dir')).toBe('/c/nodes/2/data');
    expect(flag('--peers')).toBe('1=127.0.0.1:7000,2=127.0.0.1:7001,3=127.0.0.1:7002');
    expect(flag('--listen-peer')).toBe('127.0.0.1:7001');
    expect(flag('--listen-resp')).toBe('127.0.0.1:7011');
    expect(flag('--listen-http')).toBe('127.0.0.1:7021');
    expect(flag('--peer-resp')).toBe('1=127.0.0.1:7010,2=127.0.0.1:7011,3=127.0.0.1:7012');
    expect(flag('--peer-http')).toBe('1=127.0.0.1:7020,2=127.0.0.1:7021,3=127.0.0.1:7022');
    expect(flag('--cluster-secret-file')).toBe('/c/nodes/2/cluster.secret');
    expect(args).not.toContain(manifest.clusterSecret);
    expect(args.slice(-2)).toEqual(['--tick-ms', '10']);
  });

  it('puts a remote node under its remoteDir', () => {
    expect(nodePaths('/srv/kv', 3).logFile).toBe('/srv/kv/nodes/3/kvnode.log');
    const manifest = createManifest({
      nodeCount: 3,
      basePort: 7000,
      remotes: new Map([[3, { ssh: 'h', remoteDir: '/srv/kv', kvctlPath: '/opt/kvctl' }]]),
    });
    expect(pathsOf('/local', manifest.nodes[2]!).dataDir).toBe('/srv/kv/nodes/3/data');
    expect(pathsOf('/local', manifest.nodes[0]!).dataDir).toBe('/local/nodes/1/data');
  });
});

describe('--remote specs', () => {
  it('parses ID=[user@]host[:sshPort]', () => {
    expect(parseRemoteSpec('3=kv@10.0.0.3:2222')).toEqual({
      id: 3,
      ssh: 'kv@10.0.0.3',
      host: '10.0.0.3',
      sshPort: 2222,
    });
    expect(parseRemoteSpec('2=db2.example')).toEqual({ id: 2, ssh: 'db2.example', host: 'db2.example' });
    expect(() => parseRemoteSpec('x=h')).toThrow(/expected ID=/);
    expect(() => parseRemoteSpec('1=-oProxyCommand=evil')).toThrow(/expected ID=/);
    expect(() => parseRemoteSpec('1=h:99999')).toThrow(/port/);
  });

  it('builds placements and bind hosts, demanding absolute remote paths', () => {
    const { remotes, hosts } = buildRemotes(['3=kv@10.0.0.3:2222'], {
      remoteDir: '/srv/kv',
      kvctlPath: '/opt/kvctl',
      identityFile: '/k/id',
      sshOptions: ['UserKnownHostsFile=/k/kh'],
    });
    expect(remotes.get(3)).toEqual({
      ssh: 'kv@10.0.0.3',
      sshPort: 2222,
      remoteDir: '/srv/kv',
      kvctlPath: '/opt/kvctl',
      identityFile: '/k/id',
      sshOptions: ['UserKnownHostsFile=/k/kh'],
    });
    expect(hosts.get(3)).toBe('10.0.0.3');
    const manifest = createManifest({ nodeCount: 3, basePort: 7000, remotes, hosts });
    expect(manifest.nodes.map((n) => n.host)).toEqual(['127.0.0.1', '127.0.0.1', '10.0.0.3']);
    expect(() => buildRemotes(['3=h'], { remoteDir: 'rel', kvctlPath: '/k' })).toThrow(/--remote-dir/);
    expect(() => buildRemotes(['3=h'], { remoteDir: '/r' })).toThrow(/--remote-kvctl/);
    expect(() => buildRemotes(['3=h', '3=i'], { remoteDir: '/r', kvctlPath: '/k' })).toThrow(/twice/);
    expect(buildRemotes([], {}).remotes.size).toBe(0);
  });
});
