// A second private containerd whose `stargz` snapshotter is stargz-snapshotter (test/interop/stargz-grpc,
// Debian's library) as a proxy plugin: its own socket, config, root and FUSE mounts under a fresh short
// directory in /tmp, all stopped, unmounted and removed by `stop()`. Lazy pulls go through Debian's
// `ctr-remote images rpull`, which prepares each layer's snapshot with the labels the snapshotter needs to
// mount the layer from the registry instead of unpacking it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { STARGZ_GRPC } from './interop.js';
import { unmountBelow } from './podman.js';
import { run } from './run.js';

export interface StargzContainerd {
  dir: string;
  address: string;
  /** `ctr -a ADDRESS ARGS` (ctr-remote when `remote`); rejects on a non-zero exit. */
  ctr(args: string[], remote?: boolean): Promise<string>;
  /** FUSE file systems the snapshotter has mounted (one per lazily pulled layer). */
  fuseMounts(): Promise<string[]>;
  stop(): Promise<void>;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startStargzContainerd(timeoutMs = 60_000): Promise<StargzContainerd> {
  // Short: unix socket paths must fit in 108 bytes.
  const dir = await mkdtemp('/tmp/tscs-');
  const sock = join(dir, 'stargz.sock');
  const snapshotter = spawn(STARGZ_GRPC, ['--address', sock, '--root', join(dir, 'stargz')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  snapshotter.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const script = join(REPO_ROOT, 'scripts', 'containerd-private.sh');
  const stop = async (): Promise<void> => {
    await run('bash', [script, 'stop', dir]).catch(() => undefined);
    if (snapshotter.exitCode === null && snapshotter.signalCode === null) {
      const gone = new Promise((r) => snapshotter.once('exit', r));
      snapshotter.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      snapshotter.kill('SIGKILL');
    }
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await socketAnswers(sock))) {
      if (snapshotter.exitCode !== null) throw new Error(`stargz-grpc exited: ${log.trim()}`);
      if (Date.now() > deadline) throw new Error(`stargz-grpc did not answer on ${sock}: ${log.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const extra = join(dir, 'proxy.toml');
    await writeFile(
      extra,
      [
        '',
        '[proxy_plugins]',
        '  [proxy_plugins.stargz]',
        '    type = "snapshot"',
        `    address = "${sock}"`,
        '',
      ].join('\n'),
    );
    const address = (
      await run('bash', [script, 'start', dir], {
        env: { ...process.env, CONTAINERD_PRIVATE_EXTRA_CONFIG: extra },
      })
    ).stdout.trim();
    return {
      dir,
      address,
      ctr: async (args, remote = false) =>
        (await run(remote ? 'ctr-remote' : 'ctr', ['-a', address, ...args])).stdout,
      fuseMounts: async () =>
        (await readFile('/proc/self/mountinfo', 'utf8'))
          .split('\n')
          .map((line) => line.split(' '))
          .filter((f) => (f[4] ?? '').startsWith(`${dir}/`) && f[f.indexOf('-') + 1]?.startsWith('fuse'))
          .map((f) => f[4] ?? ''),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
