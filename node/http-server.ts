/**
 * HTTP API (meant to sit behind Nginx): GET/PUT/DELETE /v1/kv/:key, GET /v1/status, /healthz,
 * /readyz, /metrics. Key-value requests go through the same executor as RESP commands, so
 * forwarding, read modes and limits behave identically.
 */
import http from 'node:http';
import type { HostPort } from './config.js';
import { formatHostPort } from './config.js';
import type { Reply } from './reply.js';

export interface HttpBackend {
  execute(args: Buffer[]): Promise<Reply>;
  status(): object;
  ready(): boolean;
  metricsText(): Promise<string>;
  metricsContentType: string;
  maxValueBytes: number;
  /** HTTP address of the leader, for 307 redirects in redirect mode. */
  leaderHttp(): HostPort | undefined;
}

const MAX_KEY_BYTES = 64 * 1024;

function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value) + '\n', 'application/json');
}

function readBody(req: http.IncomingMessage, limitBytes: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limitBytes) {
      resolve('too-large');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Maps an executor reply to an HTTP response. */
function replyToHttp(res: http.ServerResponse, reply: Reply, backend: HttpBackend, path: string): void {
  switch (reply.t) {
    case 'bulk':
      if (reply.b === null) send(res, 404, 'not found\n');
      else send(res, 200, reply.b, 'application/octet-stream');
      return;
    case 'simple':
      send(res, 200, reply.s + '\n');
      return;
    case 'int':
      sendJson(res, 200, { deleted: Number(reply.n) });
      return;
    case 'error': {
      if (reply.s.startsWith('MOVED')) {
        const leader = backend.leaderHttp();
        if (leader) {
          res.writeHead(307, { location: `http://${formatHostPort(leader)}${path}` });
          res.end();
          return;
        }
      }
      const status =
        reply.s.startsWith('TRYAGAIN') || reply.s.startsWith('MOVED')
          ? 503
          : reply.s.startsWith('TIMEOUT')
            ? 504
            : reply.s.startsWith('OOM') || reply.s.startsWith('NOSPACE')
              ? 507 // Insufficient Storage: the --max-memory quota, or the data dir is out of space
              : 400;
      sendJson(res, status, { error: reply.s });
      return;
    }
    default:
      sendJson(res, 500, { error: 'unexpected reply' });
  }
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  backend: HttpBackend,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/healthz') return send(res, 200, 'ok\n');
  if (path === '/readyz') return backend.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
  if (path === '/v1/status') return sendJson(res, 200, backend.status());
  if (path === '/metrics') return send(res, 200, await backend.metricsText(), backend.metricsContentType);
  if (!path.startsWith('/v1/kv/')) return sendJson(res, 404, { error: `no route ${path}` });

  let key: Buffer;
  try {
    key = Buffer.from(decodeURIComponent(path.slice('/v1/kv/'.length)));
  } catch {
    return sendJson(res, 400, { error: 'key is not valid percent-encoding' });
  }
  if (key.length === 0) return sendJson(res, 400, { error: 'empty key' });
  if (key.length > MAX_KEY_BYTES)
    return sendJson(res, 414, { error: `key longer than ${MAX_KEY_BYTES} bytes` });

  switch (req.method) {
    case 'GET':
      return replyToHttp(res, await backend.execute([Buffer.from('GET'), key]), backend, path);
    case 'PUT': {
      const body = await readBody(req, backend.maxValueBytes);
      if (body === 'too-large')
        return sendJson(res, 413, { error: `value larger than ${backend.maxValueBytes} bytes` });
      return replyToHttp(res, await backend.execute([Buffer.from('SET'), key, body]), backend, path);
    }
    case 'DELETE':
      return replyToHttp(res, await backend.execute([Buffer.from('DEL'), key]), backend, path);
    default:
      res.setHeader('allow', 'GET, PUT, DELETE');
      return sendJson(res, 405, { error: `method ${req.method} not allowed` });
  }
}

export function createHttpServer(backend: HttpBackend): http.Server {
  const server = http.createServer((req, res) => {
    handle(req, res, backend).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });
  // Bounds: slow or idle clients do not hold sockets forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  return server;
}
