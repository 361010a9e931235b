// Layer blobs for the verify tests, built in-process with tsconvert's own zstd:chunked writer, and an
// OCI layout (a real directory) to hold them; plus the tools to break a blob on purpose: re-splicing its
// metadata frames after changing the TOC.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chunkedAnnotations, type ChunkedAnnotations } from '../../../src/layers/zstdchunked/format.js';
import { footer, type MetadataLayout } from '../../../src/layers/zstdchunked/metadata.js';
import { ChunkedEncoder } from '../../../src/layers/zstdchunked/writer.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { MediaType } from '../../../src/oci/media-types.js';
import type { Descriptor } from '../../../src/oci/types.js';
import { openOciLayout, type OciLayoutBackend } from '../../../src/oci-layout/index.js';
import type { CompressPool } from '../../../src/zstd/compress-pool.js';
import { FrameCompressor, skippableFrame } from '../../../src/zstd/frame-compressor.js';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { member, paxTar } from '../zstdchunked/tars.js';
import { putBlob, sig } from '../../helpers/oci-sample.js';

/** A tar with a multi-chunk file, links, a PAX member with xattrs and times, and GNU record padding. */
export function sampleTar(): Buffer {
  return Buffer.concat([
    member({ name: 'etc/', type: '5', mode: 0o755 }),
    member({ name: 'etc/empty' }),
    member({ name: 'etc/big.bin', data: Buffer.concat([randomBytes(2500), Buffer.alloc(1500, 7)]) }),
    member({ name: 'etc/link', type: '1', linkname: 'etc/big.bin' }),
    member({ name: 'etc/sym', type: '2', linkname: 'big.bin' }),
    member({ name: 'etc/fifo', type: '6' }),
    member({ name: 'etc/one', data: Buffer.alloc(1000, 1) }),
    paxTar(),
    Buffer.alloc(9216),
  ]);
}

export interface Chunked {
  blob: Buffer;
  layout: MetadataLayout;
  tar: Buffer;
}

export async function encodeChunked(pool: CompressPool, tar: Buffer, scratchDir: string): Promise<Chunked> {
  const enc = new ChunkedEncoder({
    pool,
    level: 3,
    chunkSize: 1000,
    slots: 3,
    budget: new MemoryBudget(Number.POSITIVE_INFINITY),
    scratch: { directory: () => scratchDir },
  });
  async function* once(): AsyncGenerator<Uint8Array> {
    yield tar;
  }
  const out: Uint8Array[] = [];
  for await (const p of enc.encode(once())) out.push(p.slice());
  if (enc.layout === undefined) throw new Error('no layout');
  return { blob: Buffer.concat(out), layout: enc.layout, tar };
}

export function annotationsOf(c: Chunked, set: ChunkedAnnotations): Record<string, string> {
  return chunkedAnnotations(set, c.layout, c.tar.length);
}

/** One zstd frame holding `data`, made by the writer's own frame compressor. */
export function zstdFrame(data: Uint8Array): Buffer {
  const f = new FrameCompressor(3);
  return Buffer.concat([...f.write(data), ...f.end()]);
}

/** The blob with its TOC replaced by `toc` (JSON text), frames and footer moved to match. */
export function withToc(c: Chunked, toc: string): Chunked {
  const l = c.layout;
  const data = c.blob.subarray(0, l.tocOffset - 8);
  const tarSplit = c.blob.subarray(l.tarSplitOffset, l.tarSplitOffset + l.tarSplitLength);
  const payload = zstdFrame(Buffer.from(toc));
  const layout: MetadataLayout = {
    ...l,
    tocLength: payload.length,
    tocUncompressedLength: Buffer.byteLength(toc),
    tocDigest: sha256Digest(toc),
    tocChecksum: sha256Digest(payload),
    tarSplitOffset: l.tocOffset + payload.length + 8,
  };
  const blob = Buffer.concat([
    data,
    skippableFrame(payload),
    skippableFrame(tarSplit),
    skippableFrame(footer(layout)),
  ]);
  return { blob, layout, tar: c.tar };
}

export class Layout {
  readonly dir = mkdtempSync(join(tmpdir(), 'verify-test-'));
  private backend: OciLayoutBackend | undefined;

  async store(): Promise<OciLayoutBackend> {
    this.backend ??= await openOciLayout({ path: join(this.dir, 'layout'), mode: 'write', signal: sig() });
    return this.backend;
  }

  async put(blob: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
    const desc = await putBlob((await this.store()).content, blob, mediaType);
    return annotations === undefined ? desc : { ...desc, annotations };
  }

  async close(): Promise<void> {
    await this.backend?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const zstdLayer = MediaType.ociLayerZstd;
export const gzipOf = (tar: Buffer): Buffer => gzipSync(tar);
