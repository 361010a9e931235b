// Child process for the multi-process tests: adds images to one OCI layout.
//   layout-child.ts put DIR PREFIX COUNT   writes COUNT images named PREFIX-i, prints "done"
//   layout-child.ts loop DIR PREFIX        writes images forever (1 MiB layers), prints "put i" after each
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { writeSampleImage } from '../../helpers/oci-sample.js';

async function main(): Promise<void> {
  const [mode, dir, prefix, count] = process.argv.slice(2);
  if (dir === undefined || prefix === undefined) throw new Error('usage: put|loop DIR PREFIX [COUNT]');
  const signal = new AbortController().signal;
  const layout = await openOciLayout({ path: dir, mode: 'write', signal });
  const limit = mode === 'loop' ? Infinity : Number(count);
  const layerBytes = mode === 'loop' ? 1 << 20 : 512;
  for (let i = 0; i < limit; i++) {
    const target = await writeSampleImage(layout.content, `${prefix}-${i}`, 2, layerBytes);
    await layout.images.put({ name: `${prefix}-${i}`, labels: {}, target }, { signal });
    if (mode === 'loop') process.stdout.write(`put ${i}\n`);
  }
  await layout.close();
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
