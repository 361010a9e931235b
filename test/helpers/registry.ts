// Real registries for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, each with its own
// storage, config and port in a temp dir, killed and removed by close(). Three modes:
//   plain  HTTP, no auth;
//   basic  HTTPS with a self-signed certificate (openssl) and htpasswd basic auth (bcrypt by perl's crypt);
//   token  HTTP with `auth: token`: a small token issuer here signs JWTs (RS256, its certificate in x5c) and
//          the registry checks each against that certificate, so every token is verified by the registry.
// Plus two small proxies in front of a registry: one that refuses multi-range requests (as GHCR does), one
// that kills the registry once a blob upload starts (a registry stopped mid-upload).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, constants, openSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REGISTRY_BIN = '/usr/bin/docker-registry';

export type RegistryMode = 'plain' | 'basic' | 'token';

export interface TestRegistry {
  mode: RegistryMode;
  /** 127.0.0.1:PORT */
  host: string;
  /** http://… or https://… */
  url: string;
  /** The registry's storage root (filesystem driver). */
  storage: string;
  /** basic, token: the user the registry (or its token issuer) accepts. */
  user: string;
  password: string;
  /** basic: a directory with the registry's certificate as ca.crt, for --src-cert-dir/--dest-cert-dir. */
  certDir: string | undefined;
  /** token: tokens the issuer has handed out (by scope), refusals, and how many next ones to hand out expired. */
  tokens: { issued: string[]; refused: number; expireNext: number };
  /** `docker://HOST/NAME` */
  ref(name: string): string;
  /** The file of a blob in the registry's storage (to damage it). */
  blobPath(digest: string): string;
  /** Writes an auth file (podman/docker format) with the registry's credentials; returns its path. */
  writeAuthFile(entry?: Record<string, unknown>): Promise<string>;
  /** Kills the registry process (its storage stays). */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage. */
  start(): Promise<void>;
  /** Kills it and removes everything. */
  close(): Promise<void>;
}

export interface RegistryOptions {
  mode: RegistryMode;
  /** token: lifetime of each token in seconds, as the issuer tells the client (default 300). */
  tokenSeconds?: number;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `docker-registry exited (${child.exitCode}): ${await readFile(log, 'utf8').catch(() => '')}`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`docker-registry did not listen on ${port}: ${await readFile(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A bcrypt htpasswd line, by the C library's crypt (libxcrypt) through perl. */
async function htpasswdLine(user: string, password: string): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = [...randomBytes(22)].map((b) => alphabet[b % 64]).join('');
  const { stdout } = await run('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`]);
  if (!stdout.startsWith('$2b$')) throw new Error(`perl crypt gave no bcrypt hash: ${stdout}`);
  return `${user}:${stdout}\n`;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** The token issuer of `auth: token`: checks Basic credentials and signs the scopes asked for. */
async function startIssuer(
  dir: string,
  user: string,
  password: string,
  seconds: number,
  tokens: TestRegistry['tokens'],
): Promise<{ server: Server; port: number; cert: string }> {
  const { cert, key } = await selfSigned(dir, 'issuer');
  const der = new X509Certificate(await readFile(cert)).raw;
  const privateKey = createPrivateKey(await readFile(key));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : undefined;
    if (given !== undefined && given !== `${user}:${password}`) {
      tokens.refused += 1;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    // Anonymous clients get a token that grants nothing; the registry then refuses them.
    const access =
      given === undefined
        ? []
        : scopes.flatMap((s) => {
            const [type, name, actions] = s.split(':');
            return type === 'repository' && name !== undefined
              ? [{ type, name, actions: (actions ?? '').split(',') }]
              : [];
          });
    const now = Math.floor(Date.now() / 1000);
    const expired = tokens.expireNext > 0;
    if (expired) tokens.expireNext -= 1;
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: 'tsconvert-test-issuer',
        sub: given === undefined ? '' : user,
        aud: url.searchParams.get('service'),
        // Past the registry's 60 s leeway for clock skew when it is to be refused.
        exp: expired ? now - 300 : now + seconds,
        nbf: now - 600,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const signature = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), privateKey));
    tokens.issued.push(scopes.join(' '));
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        token: `${header}.${claims}.${signature}`,
        expires_in: seconds,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0, cert };
}

export async function startRegistry(options: RegistryOptions): Promise<TestRegistry> {
  await access(REGISTRY_BIN, constants.X_OK).catch(() => {
    throw new Error(
      `${REGISTRY_BIN} is missing: run scripts/ensure-tools.sh (Debian package docker-registry)`,
    );
  });
  const dir = await mkdtemp(join(tmpdir(), 'tsc-registry-'));
  const storage = join(dir, 'data');
  await mkdir(storage);
  const port = await freePort();
  const user = 'tester';
  const password = randomBytes(6).toString('hex');
  const tokens = { issued: [] as string[], refused: 0, expireNext: 0 };
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let certDir: string | undefined;
  let issuer: Server | undefined;
  try {
    if (options.mode === 'basic') {
      const { cert, key } = await selfSigned(dir, 'registry');
      certDir = join(dir, 'certs');
      await mkdir(certDir);
      await writeFile(join(certDir, 'ca.crt'), await readFile(cert));
      await writeFile(join(dir, 'htpasswd'), await htpasswdLine(user, password));
      lines.push(
        '  tls:',
        `    certificate: ${cert}`,
        `    key: ${key}`,
        'auth:',
        '  htpasswd:',
        '    realm: tsconvert-test',
        `    path: ${join(dir, 'htpasswd')}`,
      );
    } else if (options.mode === 'token') {
      const seconds = options.tokenSeconds ?? 300;
      const started = await startIssuer(dir, user, password, seconds, tokens);
      issuer = started.server;
      lines.push(
        'auth:',
        '  token:',
        `    realm: http://127.0.0.1:${started.port}/token`,
        '    service: tsconvert-test-registry',
        '    issuer: tsconvert-test-issuer',
        `    rootcertbundle: ${started.cert}`,
      );
    }
    await writeFile(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  } catch (err) {
    issuer?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let child: ChildProcess | undefined;
  const log = join(dir, 'registry.log');
  const start = async (): Promise<void> => {
    const out = openSync(log, 'a');
    try {
      child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', out, out] });
      child.on('error', () => undefined);
    } finally {
      closeSync(out);
    }
    await waitForPort(port, child, log);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  const host = `127.0.0.1:${port}`;
  const registry: TestRegistry = {
    mode: options.mode,
    host,
    url: `${options.mode === 'basic' ? 'https' : 'http'}://${host}`,
    storage,
    user,
    password,
    certDir,
    tokens,
    ref: (name) => `docker://${host}/${name}`,
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    writeAuthFile: async (entry) => {
      const path = join(dir, `auth-${randomBytes(4).toString('hex')}.json`);
      const auth = Buffer.from(`${user}:${password}`).toString('base64');
      await writeFile(path, JSON.stringify(entry ?? { auths: { [host]: { auth } } }));
      return path;
    },
    stop,
    start,
    close: async () => {
      await stop();
      if (issuer !== undefined) {
        issuer.closeAllConnections();
        await new Promise((r) => issuer?.close(r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (err) {
    await registry.close();
    throw err;
  }
  return registry;
}

export interface TestProxy {
  /** 127.0.0.1:PORT */
  host: string;
  ref(name: string): string;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a plain registry. `intercept` may answer a request itself (return true) before
 * it is forwarded as it is.
 */
export async function startProxy(
  target: TestRegistry,
  intercept: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>,
): Promise<TestProxy> {
  const [targetHost, targetPort] = target.host.split(':');
  const server = createServer((req, res) => {
    void (async () => {
      if (await intercept(req, res)) return;
      const upstream = request(
        {
          host: targetHost,
          port: Number(targetPort),
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      // The registry gone: the connection drops, as it would without the proxy.
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    host,
    ref: (name) => `docker://${host}/${name}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A proxy that answers every request naming several byte ranges with 501, as GHCR does. */
export function startRangeRefusingProxy(target: TestRegistry): Promise<TestProxy> {
  return startProxy(target, (req, res) => {
    if (!String(req.headers.range ?? '').includes(',')) return false;
    res.writeHead(501, { 'content-type': 'text/plain' }).end('multiple ranges are not supported\n');
    return true;
  });
}

/** A proxy that kills the registry behind it when the first blob upload sends data (PATCH or PUT with a body). */
export function startKillingProxy(target: TestRegistry): Promise<TestProxy & { killed(): boolean }> {
  let killed = false;
  return startProxy(target, async (req, res) => {
    const uploading =
      req.url?.includes('/blobs/uploads/') === true && (req.method === 'PATCH' || req.method === 'PUT');
    if (!uploading || killed) return false;
    killed = true;
    await target.stop();
    req.resume();
    res.destroy();
    return true;
  }).then((proxy) => Object.assign(proxy, { killed: () => killed }));
}

/**
 * A proxy that cuts the first whole-blob read after `afterBytes` bytes (the connection drops mid-body), and
 * records the Range header of every blob read, so a test sees the client resume where it stopped.
 */
export async function startDroppingProxy(
  target: TestRegistry,
  afterBytes: number,
): Promise<TestProxy & { ranges: string[]; dropped(): boolean }> {
  const [targetHost, targetPort] = target.host.split(':');
  const ranges: string[] = [];
  let dropped = false;
  const proxy = await startProxy(target, (req, res) => {
    if (req.method !== 'GET' || !/\/blobs\/sha256:/.test(req.url ?? '')) return false;
    ranges.push(String(req.headers.range ?? ''));
    if (dropped || req.headers.range !== undefined) return false;
    const upstream = request(
      { host: targetHost, port: Number(targetPort), method: 'GET', path: req.url, headers: req.headers },
      (answer) => {
        const length = Number(answer.headers['content-length'] ?? 0);
        if (answer.statusCode !== 200 || length <= afterBytes) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        dropped = true;
        res.writeHead(200, answer.headers);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= afterBytes) return;
          const part = chunk.subarray(0, afterBytes - sent);
          sent += part.byteLength;
          res.write(part);
          if (sent >= afterBytes) {
            answer.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end();
    return true;
  });
  return Object.assign(proxy, { ranges, dropped: () => dropped });
}

/** A proxy that answers the first `failures` blob requests with 503 (a registry under load). */
export async function startFlakyProxy(
  target: TestRegistry,
  failures: number,
): Promise<TestProxy & { refused(): number }> {
  let refused = 0;
  const proxy = await startProxy(target, (req, res) => {
    if (!/\/blobs\//.test(req.url ?? '') || refused >= failures) return false;
    refused += 1;
    req.resume();
    res
      .writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' })
      .end('{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}');
    return true;
  });
  return Object.assign(proxy, { refused: () => refused });
}

/**
 * A proxy that holds every blob upload request that sends data (PATCH, or PUT with a body) until close(),
 * and resolves `stalled` when the first one arrives: a run can be interrupted mid-upload at a known point.
 */
export async function startStallingProxy(
  target: TestRegistry,
): Promise<TestProxy & { stalled: Promise<void> }> {
  let arrived: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const proxy = await startProxy(target, (req) => {
    const uploading =
      req.url?.includes('/blobs/uploads/') === true && (req.method === 'PATCH' || req.method === 'PUT');
    if (!uploading) return false;
    arrived();
    // Never answered; the connection is dropped when the proxy closes.
    req.resume();
    return true;
  });
  return Object.assign(proxy, { stalled });
}

/** The tags of a repository, [] when the registry has no such repository (anonymous; plain registries). */
export async function listTags(registry: TestRegistry | TestProxy, repository: string): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/**
 * Puts the image `oci:DIR:REF` (or `oci-archive:…`) into the registry as `docker://HOST/REPO:TAG` with skopeo,
 * blobs, manifest and annotations byte for byte: the reference images tsconvert did not write. `--preserve-digests`
 * matters: without it skopeo may replace a layer by one its blob-info cache (/var/lib/containers/cache, shared by
 * every skopeo and podman run as root) says has the same DiffID and is already in the repository, such as the
 * source image's gzip layer, and rewrite the manifest.
 */
export async function pushLayout(layoutRef: string, dest: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '-q',
    '--preserve-digests',
    '--dest-tls-verify=false',
    layoutRef,
    `docker://${dest}`,
  ]);
}
