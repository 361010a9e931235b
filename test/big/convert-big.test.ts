// End to end on a generated multi-GB layer: memory stays bounded whatever the layer size (peak RSS read
// from the kernel while the real binary runs), the result decompresses to the DiffID with the zstd CLI,
// and Ctrl-C in the middle exits 130 leaving no image, lease or ingest behind.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBigImage, peakRss, type BigImage } from '../helpers/big-image.js';
import { startTsconvert } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import { ctrOk, expectNoLeftovers, imageDigest, rows } from '../helpers/e2e.js';

/** Several GB uncompressed; TSCONVERT_BIG_LAYER_BYTES overrides it for quick local runs. */
const BIG_BYTES = Number(process.env.TSCONVERT_BIG_LAYER_BYTES ?? 3 * 1024 ** 3);
/** The bound a streaming converter stays far below; a layer held in memory would blow through it. */
const MAX_PEAK_RSS = 300 * 1024 * 1024;
const NAME = 'docker.io/tsconvert-test/big:latest';

let big: BigImage;
const { address, newNamespace } = testContainerd();
const namespace = newNamespace('big');

beforeAll(async () => {
  big = await buildBigImage(BIG_BYTES, NAME);
  await ctrOk(['images', 'import', '--no-unpack', '--all-platforms', big.archive], namespace);
}, 900_000);

afterAll(async () => {
  await big?.cleanup();
});

async function sha256OfZstdBlob(digest: string): Promise<string> {
  const cmd = `ctr -a "${address}" -n "${namespace}" content get ${digest} | zstd -dc | sha256sum`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(`sha256:${out.split(' ')[0]}`) : reject(new Error(`exit ${code}`)),
    );
  });
}

describe('a multi-GB layer', () => {
  it('converts with bounded memory, and the result decompresses to the DiffID', async () => {
    const run = startTsconvert([
      '-a',
      address,
      '-n',
      namespace,
      'image',
      'convert',
      '--zstd',
      '--oci',
      NAME,
      'big:zstd',
    ]);
    let peak = 0;
    const poll = setInterval(() => {
      void peakRss(run.child.pid ?? -1).then((v) => {
        if (v !== undefined) peak = Math.max(peak, v);
      });
    }, 100);
    const r = await run.done.finally(() => clearInterval(poll));
    expect(r.code, r.stderr).toBe(0);
    expect(peak).toBeGreaterThan(0);
    expect(peak, `peak RSS ${Math.round(peak / 2 ** 20)} MiB`).toBeLessThan(MAX_PEAK_RSS);
    const manifest = JSON.parse(await ctrOk(['content', 'get', r.stdout.trim()], namespace)) as {
      layers: Array<{ digest: string }>;
    };
    const layer = manifest.layers[0]?.digest ?? '';
    expect(await sha256OfZstdBlob(layer)).toBe(big.diffId);
  }, 900_000);

  it('exits 130 on SIGINT after the first ingest appears, leaving no image, lease or ingest', async () => {
    const run = startTsconvert([
      '-a',
      address,
      '-n',
      namespace,
      'image',
      'convert',
      '--uncompress',
      NAME,
      'big:interrupted',
    ]);
    const deadline = Date.now() + 120_000;
    let sawIngest = false;
    while (Date.now() < deadline && run.child.exitCode === null) {
      if ((await rows(['content', 'active'], namespace)).length > 0) {
        sawIngest = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sawIngest, 'an ingest appeared while converting').toBe(true);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(await imageDigest(namespace, 'docker.io/library/big:interrupted')).toBeUndefined();
    await expectNoLeftovers(namespace);
  }, 300_000);
});
