// connectContainerd and the error boundary against the real daemon: address and namespace validation,
// the socket checks (missing, not a socket, nobody answering), the lease header, cancellation, and a
// daemon that goes away mid-run.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { connectContainerd } from '../../src/containerd/connection.js';
import { TsconvertError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { silentLogger } from '../../src/util/log.js';
import { ctr, newNamespace, recordingLogger, testContainerd } from '../helpers/containerd.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp('/tmp/tsc-conn-');
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function connectError(options: { address?: string; namespace?: string }): Promise<TsconvertError> {
  const signal = new AbortController().signal;
  const err: unknown = await connectContainerd({ ...options, logger: silentLogger, signal }).then(
    () => new Error('connected unexpectedly'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsconvertError);
  return err as TsconvertError;
}

describe('connectContainerd', () => {
  it('connects with a plain path and with unix://, and reports the daemon version', async () => {
    const { address } = testContainerd();
    const signal = new AbortController().signal;
    const logger = recordingLogger();
    const a = await connectContainerd({ address, namespace: newNamespace(), logger, signal });
    const b = await connectContainerd({ address: `unix://${address}`, logger: silentLogger, signal });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const ctrVersion = await ctr(['version'], { namespace: 'default' });
    expect(ctrVersion.stdout).toContain(`Version:  ${a.version}`);
    expect(a.kind).toBe('containerd');
    expect(b.namespace).toBe('default');
    expect(logger.records.some((r) => r.msg === 'connected to containerd')).toBe(true);
  });

  it('rejects other address schemes with INVALID_ARGUMENT', async () => {
    const err = await connectError({ address: 'tcp://127.0.0.1:1234' });
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('invalid address "tcp://127.0.0.1:1234"');
  });

  it('validates the namespace before touching the socket', async () => {
    const err = await connectError({ address: '/nonexistent/containerd.sock', namespace: 'bad/ns' });
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(
      'namespace validation: identifier "bad/ns" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$',
    );
    expect((await connectError({ namespace: '' })).message).toBe(
      'namespace validation: identifier must not be empty',
    );
  });

  it('names a missing socket and says how to fix it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'nope.sock');
    const err = await connectError({ address: path });
    expect(err.code).toBe('CONNECTION');
    expect(err.message).toBe(`cannot access containerd socket "${path}": no such file`);
    expect(err.hint).toContain('CONTAINERD_ADDRESS');
    expect(err.hint).toContain('--address');
  });

  it('refuses a path that is not a socket', async () => {
    const dir = await tempDir();
    const path = join(dir, 'plain-file');
    await writeFile(path, 'not a socket');
    const err = await connectError({ address: `unix://${path}` });
    expect(err.code).toBe('CONNECTION');
    expect(err.message).toBe(`cannot access containerd socket "${path}": not a socket`);
  });

  it('reports a socket nobody answers on as not answering', async () => {
    const dir = await tempDir();
    const path = join(dir, 'mute.sock');
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const err = await connectError({ address: path });
    expect(err.code).toBe('CONNECTION');
    expect(err.message).toBe(`containerd at ${path} is not answering`);
    expect(err.hint).toMatch(/is containerd running/);
  });

  it('tells a permission problem apart from a missing daemon', async () => {
    // As root every socket is accessible, so compile the connection module to plain JS and run the check
    // as "nobody" in a child process against the test daemon's root-only socket.
    const { address } = testContainerd();
    const repo = new URL('../../', import.meta.url).pathname;
    const out = join(repo, '.tmp', `containerd-perm-${process.pid}`);
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    await run(tsc, [
      ...['--ignoreConfig', '--outDir', out, '--rootDir', repo, '--module', 'nodenext'],
      ...['--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node'],
      join(repo, 'src/containerd/connection.ts'),
    ]).catch(() => undefined); // type errors elsewhere in the tree do not stop the emit
    await cp(join(repo, 'proto'), join(out, 'proto'), { recursive: true });
    const probe = join(out, 'probe.mjs');
    await writeFile(
      probe,
      [
        "import { connectContainerd } from './src/containerd/connection.js';",
        'const logger = { debug() {}, info() {}, warn() {}, error() {} };',
        'const signal = new AbortController().signal;',
        'await connectContainerd({ address: process.argv[2], logger, signal }).then(',
        "  () => console.log('{}'),",
        '  (err) => console.log(JSON.stringify({ code: err.code, message: err.message, hint: err.hint })),',
        ');',
      ].join('\n'),
    );
    const node = join(repo, 'node_modules', '.bin', 'node');
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', node, probe, address];
    const { stdout } = await run('setpriv', asNobody);
    const result = JSON.parse(stdout) as { code?: string; message?: string; hint?: string };
    expect(result.code).toBe('CONNECTION');
    expect(result.message).toBe(`cannot access containerd socket "${address}": permission denied`);
    expect(result.hint).toMatch(/run as root/);
  });
});

describe('containerd error boundary', () => {
  it('an unknown lease is NOT_FOUND on the first write', async () => {
    const { address } = testContainerd();
    const signal = new AbortController().signal;
    const backend = await connectContainerd({
      address,
      namespace: newNamespace(),
      logger: silentLogger,
      signal,
    });
    cleanups.push(() => backend.close());
    const leased = backend.withLease('no-such-lease');
    expect(leased.lease).toBe('no-such-lease');
    const attempt = (async () => {
      const writer = await leased.content.openWriter({ ref: 'leased-1', signal });
      await writer.write(Buffer.from('x'));
      await writer.commit({});
    })();
    await expect(attempt).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'lease does not exist: not found',
    });
    await leased.close(); // a view's close leaves the shared channel open
    await expect(backend.content.listIngests({ signal })).resolves.toEqual([]);
  });

  it('a unary call aborted by its signal rejects with CANCELLED', async () => {
    const { address } = testContainerd();
    const signal = new AbortController().signal;
    const backend = await connectContainerd({
      address,
      namespace: newNamespace(),
      logger: silentLogger,
      signal,
    });
    cleanups.push(() => backend.close());
    const ac = new AbortController();
    ac.abort(new Error('gave up'));
    await expect(backend.content.info(sha256Digest('x'), { signal: ac.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
      message: 'gave up',
    });
    const ac2 = new AbortController();
    const pending = backend.images.list({ signal: ac2.signal });
    ac2.abort(new Error('gave up later'));
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED', message: 'gave up later' });
  });

  it('a daemon that stops mid-run turns into CONNECTION "stopped answering"', async () => {
    const dir = await tempDir();
    const scriptPath = new URL('../../scripts/containerd-private.sh', import.meta.url).pathname;
    const { stdout } = await run('bash', [scriptPath, 'start', dir]);
    cleanups.push(async () => {
      await run('bash', [scriptPath, 'stop', dir]);
    });
    const address = stdout.trim();
    const signal = new AbortController().signal;
    const backend = await connectContainerd({
      address,
      namespace: newNamespace(),
      logger: silentLogger,
      signal,
    });
    cleanups.push(() => backend.close());
    expect(await backend.images.list({ signal })).toEqual([]);
    await run('bash', [scriptPath, 'stop', dir]);
    await expect(backend.images.list({ signal })).rejects.toMatchObject({
      code: 'CONNECTION',
      message: expect.stringMatching(new RegExp(`^containerd at ${address} stopped answering`)) as unknown,
    });
  });
});
