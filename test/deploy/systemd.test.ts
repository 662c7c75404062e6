import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_GEN_SYSTEMD,
  parseDeployNodes,
  renderDeployFiles,
  renderTemplate,
  writeDeployFiles,
} from '../../src/deploy/systemd.js';

describe('renderTemplate', () => {
  it('fills placeholders and refuses missing values', () => {
    expect(renderTemplate('a={{a}} b={{ b }} a={{a}}', { a: 1, b: 'x' })).toBe('a=1 b=x a=1');
    expect(() => renderTemplate('{{a}} {{c}} {{d}}', { a: 1 })).toThrow('template: no value for c, d');
  });
});

describe('parseDeployNodes', () => {
  it('accepts ID=HOST lists and bare hosts', () => {
    expect(parseDeployNodes('1=10.0.0.1, 2=10.0.0.2')).toEqual([
      { id: 1, host: '10.0.0.1' },
      { id: 2, host: '10.0.0.2' },
    ]);
    expect(parseDeployNodes('a.example,b.example')).toEqual([
      { id: 1, host: 'a.example' },
      { id: 2, host: 'b.example' },
    ]);
    expect(() => parseDeployNodes('1=a,1=b')).toThrow(/duplicate/);
    expect(() => parseDeployNodes('1=a b')).toThrow(/bad entry/);
    expect(() => parseDeployNodes('')).toThrow(/expected/);
  });
});

describe('gen-systemd files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-deploy-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('renders one unit per node for a 1 GB VM and an Nginx upstream of the HTTP ports', async () => {
    const files = await renderDeployFiles({
      ...DEFAULT_GEN_SYSTEMD,
      nodes: parseDeployNodes('1=10.0.0.1,2=10.0.0.2,3=10.0.0.3'),
    });
    expect(files.map((f) => f.name)).toEqual([
      'kvnode-1.service',
      'kvnode-2.service',
      'kvnode-3.service',
      'nginx.conf',
      'cluster.secret',
    ]);
    const unit = files[1]!.content;
    expect(unit).toContain(
      'ExecStart=/usr/bin/node --max-old-space-size=256 --max-semi-space-size=4 /opt/kvctl/bin/kvnode.js --id 2 ' +
        '--data-dir /var/lib/kvnode --peers 1=10.0.0.1:7000,2=10.0.0.2:7001,3=10.0.0.3:7002 ' +
        '--listen-peer 10.0.0.2:7001 --listen-resp 10.0.0.2:7011 --listen-http 10.0.0.2:7021 ' +
        `--max-memory ${650 * 1024 * 1024} --cluster-secret-file /etc/kvnode/cluster.secret`,
    );
    // 1 GB VM: 850 MB for the unit, 650 MB of it for data (sizing.ts).
    expect(unit).toMatch(/^MemoryMax=850M$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^LimitNOFILE=65536$/m);
    expect(unit).not.toContain('{{');
    const nginx = files[3]!.content;
    expect(nginx).toContain(
      '    server 10.0.0.1:7020 max_fails=2 fail_timeout=5s;\n    server 10.0.0.2:7021',
    );
    expect(nginx).toMatch(/location \/v1\/ \{\n\s+proxy_pass http:\/\/kvnode_http;/);
    expect(files[4]!.content).toMatch(/^[0-9a-f]{64}$/);

    const written = await writeDeployFiles(dir, files);
    expect(written).toHaveLength(5);
    expect((await fs.stat(path.join(dir, 'cluster.secret'))).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(path.join(dir, 'nginx.conf'), 'utf8')).toBe(nginx);
  });
});
