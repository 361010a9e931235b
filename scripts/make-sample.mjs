// Writes examples/sample.tar, the small image the README's Quick start converts with no daemon: one
// linux/amd64 manifest of four gzip layers (a base, an app layer listed twice, a config layer), built with
// the fixture generator's modules so it is deterministic. Run: npx node scripts/make-sample.mjs
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { addManifest } from '../fixtures/gen/image-builder.mjs';
import { LayerCache } from '../fixtures/gen/images.mjs';
import { BlobStore, writeLayoutArchive } from '../fixtures/gen/oci-layout.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'sample.tar');
const cache = new LayerCache();
const store = new BlobStore();
const tree = (textFiles, binFiles, binBytes) => ({ textFiles, binFiles, binBytes });
const base = await cache.get('sample/base', 'gzip', tree(60, 4, 64 * 1024));
const app = await cache.get('sample/app', 'gzip', tree(20, 2, 32 * 1024));
const conf = await cache.get('sample/conf', 'gzip', tree(10, 0, 0));
const { descriptor } = addManifest(store, {
  name: 'sample',
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [base, app, conf, app],
});
mkdirSync(dirname(out), { recursive: true });
await writeLayoutArchive(out, store, descriptor, 'docker.io/tsconvert/sample:latest');
process.stdout.write(`wrote ${out}\n`);
