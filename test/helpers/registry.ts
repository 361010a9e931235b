// A plain registry for the real-client tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1
// at a free port, its storage in a fresh temporary directory, stopped and removed by `stop()`. And the one
// way images get into it until tsconvert writes `docker://` itself: skopeo copying an OCI layout, which
// keeps every blob and annotation as they are.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a registry; fails (with its log) when it does not answer within `timeoutMs`. */
export async function startRegistry(timeoutMs = 30_000): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited(child);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `docker-registry on ${host} did not start: ${log.trim().split('\n').slice(-5).join(' | ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, stop };
}

/**
 * Puts the image `oci:DIR:REF` (or `oci-archive:…`) into the registry as `docker://HOST/REPO:TAG` with skopeo,
 * blobs, manifest and annotations byte for byte. `--preserve-digests` matters: without it skopeo may replace a
 * layer by one its blob-info cache (/var/lib/containers/cache, shared by every skopeo and podman run as root)
 * says has the same DiffID and is already in the repository — such as the source image's gzip layer — and
 * rewrite the manifest. When tsconvert has a `docker://` destination, tests write there directly.
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
