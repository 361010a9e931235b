// The one sequential read of a layer blob that every check needing its bytes shares: the blob's sha256
// and size, decompression (zstd frame by frame, so each frame's offset is known), the tar's sha256 (the
// DiffID), the tar scan, and — for zstd:chunked — the TOC's entries, file and chunk digests and offsets,
// and the tar-split, all checked as the bytes stream past. Nothing of the layer is held.

import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { decode, sniff } from '../stream/decompress.js';
import { DigestCounter, tapInto } from '../stream/digest-tap.js';
import { scanTar, type TarEvent, type TarMember } from '../tar/index.js';
import { decodeFrames } from '../zstd/frame-decoder.js';
import type { Findings } from './findings.js';
import { FileCheck, FrameTracker } from './payload-checks.js';
import { fromStore, StageError, tagged, taggedStep, unwrapStoreError } from './stages.js';
import type { TarSplitCheck } from './tar-split-check.js';
import type { Toc } from './toc-doc.js';
import type { TocEntries } from './toc-entries.js';
import { differingFields } from './toc-fields.js';
import { EMPTY_SHA256 as EMPTY } from '../layers/zstdchunked/toc.js';
import { stopsOldTocParser } from '../layers/zstdchunked/reader-losses.js';

export interface PassInput {
  store: ContentStore;
  desc: Descriptor;
  signal: AbortSignal;
  toc?: Toc;
  tarSplit?: TarSplitCheck;
}

export interface PassResult {
  compression: 'none' | 'gzip' | 'zstd';
  blobDigest: string;
  blobSize: number;
  diffId: string;
  tarSize: number;
  /** The digest of the tar rebuilt from the tar-split, when there was one and it lined up. */
  rebuiltDiffId: string | undefined;
  fifos: number;
  /** The first member whose name or link name stops containers/storage 1.43's TOC parser, if any. */
  escapedName: string | undefined;
}

async function* framesInto(
  source: AsyncIterable<Uint8Array>,
  tracker: FrameTracker,
): AsyncGenerator<Uint8Array> {
  for await (const ev of decodeFrames(source)) {
    if (ev.kind === 'frame') tracker.frame(ev.offset, ev.decoded);
    else yield ev.data;
  }
}

/** Runs the pass; a stage that fails is recorded in `findings` and ends the pass (its result is then partial). */
export async function layerPass(input: PassInput, findings: Findings): Promise<PassResult | undefined> {
  const blob = new DigestCounter();
  const tar = new DigestCounter();
  const frames = new FrameTracker();
  const result: PassResult = {
    compression: 'none',
    blobDigest: '',
    blobSize: 0,
    diffId: '',
    tarSize: 0,
    rebuiltDiffId: undefined,
    fifos: 0,
    escapedName: undefined,
  };
  try {
    const raw = fromStore(input.store.read(input.desc.digest, { signal: input.signal }));
    const { compression, stream } = await sniff(tapInto(blob)(raw));
    result.compression = compression;
    const bytes = compression === 'zstd' ? framesInto(stream, frames) : decode(stream, compression);
    const scan = scanTar(tapInto(tar)(tagged(bytes, 'decompress')), { signal: input.signal });
    await walk(tagged(scan, 'tar'), input, findings, frames, result);
    frames.end(blob.size);
    const { tarSplit } = input;
    if (tarSplit !== undefined) result.rebuiltDiffId = await taggedStep('tar-split', () => tarSplit.finish());
  } catch (err) {
    if (!(err instanceof StageError)) throw unwrapStoreError(err);
    findings.fail(err.check, err.message);
    return undefined;
  }
  result.blobDigest = blob.digest();
  result.blobSize = blob.size;
  result.diffId = tar.digest();
  result.tarSize = tar.size;
  return result;
}

async function walk(
  events: AsyncIterable<TarEvent>,
  input: PassInput,
  findings: Findings,
  frames: FrameTracker,
  result: PassResult,
): Promise<void> {
  const { toc, tarSplit } = input;
  const entries = toc?.entries();
  let file: FileCheck | undefined;
  let left = 0;
  try {
    for await (const ev of events) {
      if (ev.kind === 'member') {
        const m = ev.member;
        noteMember(m, result);
        if (tarSplit !== undefined) await taggedStep('tar-split', () => tarSplit.member(m, ev.header));
        file =
          entries === undefined
            ? undefined
            : await taggedStep('toc', () => checkEntry(entries, m, findings, frames, tarSplit !== undefined));
        left = m.payloadSize;
        if (left === 0) file = undefined;
      } else if (ev.kind === 'payload') {
        const f = file;
        if (f !== undefined) await taggedStep('toc', () => f.update(ev.data, ev.offset));
        tarSplit?.payload(ev.data);
        left -= ev.data.length;
        if (left === 0) {
          if (f !== undefined) await taggedStep('toc', () => f.finish());
          tarSplit?.endPayload();
        }
      } else if (ev.kind === 'padding') tarSplit?.padding(ev.data);
      else if (ev.kind === 'trailer') tarSplit?.trailer(ev.data);
      else if (toc !== undefined && ev.summary.members < toc.memberCount) {
        findings.fail('toc-entries', `the TOC has ${toc.memberCount} members, the tar ${ev.summary.members}`);
      }
    }
  } finally {
    await entries?.close();
  }
}

function noteMember(m: TarMember, result: PassResult): void {
  if (m.type === 'fifo') result.fifos++;
  if (result.escapedName === undefined && stopsOldTocParser(m)) result.escapedName = m.name.text;
}

/**
 * The member's TOC entry (the next member entry: the TOC lists them in tar order): same name, same fields
 * (when a tar-split exists), and its payload checker.
 */
async function checkEntry(
  entries: TocEntries,
  m: TarMember,
  findings: Findings,
  frames: FrameTracker,
  compareFields: boolean,
): Promise<FileCheck | undefined> {
  // Chunk entries of the member before that no payload check took (not a file, or a name that differed).
  while ((await entries.peek())?.type === 'chunk') await entries.next();
  const entry = await entries.next();
  if (entry === undefined) {
    findings.fail('toc-entries', `tar member ${m.index} "${m.name.text}" has no TOC entry`);
    return undefined;
  }
  if (entry.name !== m.name.text) {
    findings.fail('toc-entries', `TOC entry ${m.index} is "${entry.name}", tar member "${m.name.text}"`);
    return undefined;
  }
  if (compareFields) {
    const diffs = differingFields(entry, m);
    if (diffs.length > 0) findings.fail('toc-vs-tar-split', `"${m.name.text}": ${diffs.join('; ')}`);
  }
  if (m.type !== 'reg') return undefined;
  if (m.payloadSize === 0) {
    const d = entry.digest;
    if (d !== undefined && d !== EMPTY)
      findings.fail('file-digest', `"${m.name.text}" is empty, TOC digest ${d}`);
    return undefined;
  }
  return new FileCheck(entry, entries, m.payloadSize, frames, findings);
}
