// podman (Debian 12: 4.3, containers/storage 1.43) pulling from the test registry with storage of its own:
// graphroot and runroot under a temporary directory, the overlay driver, partial pulls on
// (`enable_partial_images`), a private storage.conf (CONTAINERS_STORAGE_CONF) and registries.conf
// (CONTAINERS_REGISTRIES_CONF) that lets it use the plain-HTTP registry. Needs root (overlay mounts).
// `partialPulls` reads from its debug log which layer blobs took the partial (zstd:chunked) path.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

export interface PodmanStore {
  dir: string;
  /** `podman pull --log-level=debug REF`; resolves with the debug log (stderr). */
  pull(ref: string): Promise<string>;
  /** Mounts the pulled image's root file system and returns its path (read it, do not write). */
  mount(ref: string): Promise<string>;
  /** Unmounts everything and removes the directory. */
  remove(): Promise<void>;
}

export async function podmanStore(registryHost: string): Promise<PodmanStore> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-podman-'));
  const graph = join(dir, 'graph');
  const runroot = join(dir, 'run');
  const storageConf = join(dir, 'storage.conf');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(
    storageConf,
    [
      '[storage]',
      'driver = "overlay"',
      `graphroot = "${graph}"`,
      `runroot = "${runroot}"`,
      '[storage.options]',
      'pull_options = {enable_partial_images = "true", use_hard_links = "false", ostree_repos = ""}',
      '',
    ].join('\n'),
  );
  await writeFile(
    registriesConf,
    [
      'unqualified-search-registries = []',
      '[[registry]]',
      `location = "${registryHost}"`,
      'insecure = true',
      '',
    ].join('\n'),
  );
  const env = {
    ...process.env,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
  };
  const podman = (args: string[]) =>
    run('podman', ['--root', graph, '--runroot', runroot, '--storage-driver', 'overlay', ...args], { env });
  return {
    dir,
    pull: async (ref) => (await podman(['--log-level=debug', 'pull', ref])).stderr,
    mount: async (ref) => (await podman(['image', 'mount', ref])).stdout.trim(),
    remove: async () => {
      await podman(['image', 'unmount', '--all', '--force']).catch(() => undefined);
      await unmountBelow(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Unmounts whatever is still mounted below `dir` (deepest first): storage may leave its own mounts. */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', [m]).catch(() => run('umount', ['-l', m]));
}

export interface PartialPulls {
  /** Layer blobs the log says were retrieved partially. */
  partial: string[];
  /** Every "Failed to retrieve partial blob: …" reason (4.3 names no digest there). */
  failures: string[];
}

/** What podman 4.3's debug log says about partial retrieval (containers/image's copy of each layer). */
export function partialPulls(log: string): PartialPulls {
  const partial = [...log.matchAll(/Retrieved partial blob (sha256:[0-9a-f]{64})/g)].map((m) => m[1] ?? '');
  const failures = [...log.matchAll(/Failed to retrieve partial blob: ([^"]*)/g)].map((m) => m[1] ?? '');
  return { partial: [...new Set(partial)].sort(), failures };
}
