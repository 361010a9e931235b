// The tar scanner's streaming behaviour, with no external reader: it stops at an abort signal and hands out
// payload and trailer bytes as views of its input chunks. (Values and verdicts are compared with tar-split's
// Go reader in test/interop/tar.)

import { describe, expect, it } from 'vitest';
import { scanTar } from '../../../src/tar/index.js';
import { entry, EOA } from '../../helpers/tar/build.js';
import { chunks } from '../../helpers/tar/collect.js';

const small = entry({ name: 'a.txt' }, 'hello');

describe('abort', () => {
  it('stops at an abort signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const it = scanTar(chunks(Buffer.concat([small, EOA]), 512), { signal: ac.signal });
    await expect(it.next()).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('streaming', () => {
  it('hands out payload and the trailer after the end blocks as views of the input chunks', async () => {
    const tar = Buffer.concat([entry({ name: 'big' }, Buffer.alloc(300_000, 1)), EOA, Buffer.alloc(100_000)]);
    const inputs: Uint8Array[] = [];
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < tar.length; i += 65_536) {
        const chunk = new Uint8Array(tar.subarray(i, i + 65_536)); // its own ArrayBuffer
        inputs.push(chunk);
        yield chunk;
      }
    }
    const buffers = new Set<ArrayBufferLike>();
    let streamed = 0;
    for await (const ev of scanTar(source())) {
      // The end-of-archive blocks were read while looking for a header: the scanner's own copies.
      const pastEndBlocks = ev.kind === 'trailer' && ev.offset >= tar.length - 100_000;
      if (ev.kind === 'payload' || pastEndBlocks) {
        buffers.add(ev.data.buffer);
        streamed += ev.data.length;
      }
    }
    expect(streamed).toBe(300_000 + 100_000);
    expect(buffers.size).toBeGreaterThan(5);
    for (const b of buffers) expect(inputs.some((c) => c.buffer === b)).toBe(true);
  });
});
