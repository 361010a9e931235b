// containerd's content service as a ContentStore: blob info and labels, streamed reads with backpressure,
// ingests (see content-writer.ts for the Write stream), all in the connection's namespace and lease.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { getDefaultHighWaterMark, setDefaultHighWaterMark } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { throwIfAborted, TsconvertError } from '../errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type {
  CallOptions,
  ContentInfo,
  ContentStore,
  ContentWriter,
  IngestStatus,
  ReadOptions,
  WriterOptions,
} from '../store/content-store.js';
import { fileChunks, readRange, type ByteRange } from '../store/file-range.js';
import type { Logger } from '../util/log.js';
import type { BlobFiles } from './blob-files.js';
import { openContentWriter } from './content-writer.js';
import { openIngestFileWriter, wantsIngestFile } from './ingest-files.js';
import { fromGrpcError } from './errors.js';
import type { Info__Output } from './generated/containerd/services/content/v1/Info.js';
import type { InfoResponse__Output } from './generated/containerd/services/content/v1/InfoResponse.js';
import type { ListContentResponse__Output } from './generated/containerd/services/content/v1/ListContentResponse.js';
import type { ListStatusesResponse__Output } from './generated/containerd/services/content/v1/ListStatusesResponse.js';
import type { ReadContentResponse__Output } from './generated/containerd/services/content/v1/ReadContentResponse.js';
import type { UpdateResponse__Output } from './generated/containerd/services/content/v1/UpdateResponse.js';
import type { Empty__Output } from './generated/google/protobuf/Empty.js';
import { awaitDaemon, callMetadata, unaryCall, type CallContext } from './rpc.js';

function toContentInfo(info: Info__Output | null, what: string): ContentInfo {
  if (info === null) throw new Error(`containerd returned no info for ${what}`);
  return { digest: parseDigest(info.digest), size: info.size, labels: { ...info.labels } };
}

/**
 * Read messages (1 MiB each from containerd) a read call buffers while its consumer is busy. grpc-js
 * builds the call as an object-mode stream with Node's default of 16, so a reader paused by backpressure
 * held 16 MiB per layer; 2 keep the daemon streaming and took ~10 MB off peak RSS on a 4.3 GB layer.
 */
const READ_BUFFERED_MESSAGES = 2;

/** Runs `open` with Node's default object-mode high-water mark set to `messages` (grpc-js takes no option). */
function withObjectHighWaterMark<T>(messages: number, open: () => T): T {
  const previous = getDefaultHighWaterMark(true);
  setDefaultHighWaterMark(true, messages);
  try {
    return open();
  } finally {
    setDefaultHighWaterMark(true, previous);
  }
}

/** Which transfers may use the daemon's content directory (blob-files.ts, ingest-files.ts). */
export interface ContentFiles {
  directory: BlobFiles;
  reads: boolean;
  writes: boolean;
}

export class ContainerdContentStore implements ContentStore {
  private readonly blobFiles: BlobFiles | undefined;
  private readonly ingestFiles: BlobFiles | undefined;

  constructor(
    private readonly context: CallContext,
    private readonly logger: Logger,
    files?: ContentFiles,
  ) {
    this.blobFiles = files?.reads ? files.directory : undefined;
    this.ingestFiles = files?.writes ? files.directory : undefined;
  }

  async info(digest: Digest, { signal }: CallOptions): Promise<ContentInfo> {
    const res = await unaryCall<InfoResponse__Output>(this.context, signal, 'content.Info', (md, opts, cb) =>
      this.context.clients.content.info({ digest }, md, opts, cb),
    );
    return toContentInfo(res.info, digest);
  }

  /**
   * From the blob's file when this process can open it (blob-files.ts), else server-streamed over gRPC:
   * the call pauses while the consumer is busy and is cancelled when it stops.
   */
  async *read(digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array> {
    throwIfAborted(options.signal);
    const file = await this.blobFiles?.open(digest, options.signal);
    if (file === undefined) yield* this.readOverGrpc(digest, options);
    else yield* this.readFile(file, digest, options);
  }

  /** A blob file that opened: the namespace must have the blob (Info), as a gRPC read would require. */
  private async *readFile(file: FileHandle, digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array> {
    let range: ByteRange;
    try {
      const { size } = await this.info(digest, options);
      range = readRange(digest, size, options.offset, options.size);
    } catch (err) {
      await file.close();
      throw err;
    }
    try {
      yield* fileChunks(file, range, options.signal, options.reusesChunks);
    } catch (err) {
      if (err instanceof TsconvertError) throw err;
      throw new TsconvertError(
        'INTERNAL',
        `reading ${digest} from containerd's content directory: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  private async *readOverGrpc(
    digest: Digest,
    { signal, offset = 0, size = 0 }: ReadOptions,
  ): AsyncIterable<Uint8Array> {
    let call: ClientReadableStream<ReadContentResponse__Output>;
    try {
      call = withObjectHighWaterMark(READ_BUFFERED_MESSAGES, () =>
        this.context.clients.content.read({ digest, offset, size }, callMetadata(this.context)),
      );
    } catch (err) {
      throw fromGrpcError(err, { address: this.context.address, signal });
    }
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    const messages = (call as AsyncIterable<ReadContentResponse__Output>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await awaitDaemon(this.context, `content.Read of ${digest}`, messages.next(), () =>
          call.cancel(),
        );
        if (next.done === true) break;
        if (next.value.data.length > 0) yield next.value.data;
      }
      finished = true;
    } catch (err) {
      throw fromGrpcError(err, { address: this.context.address, signal });
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (!finished) call.cancel();
    }
  }

  /**
   * Sets or removes labels one key at a time (mask paths `labels.<key>`; an empty value deletes), leaving
   * the blob's other labels alone. No keys: just returns the info (an empty mask would replace them all).
   */
  async updateLabels(
    digest: Digest,
    labels: Record<string, string | undefined>,
    { signal }: CallOptions,
  ): Promise<ContentInfo> {
    const keys = Object.keys(labels);
    if (keys.length === 0) return this.info(digest, { signal });
    const values = Object.fromEntries(keys.map((key) => [key, labels[key] ?? '']));
    const res = await unaryCall<UpdateResponse__Output>(
      this.context,
      signal,
      'content.Update',
      (md, opts, cb) =>
        this.context.clients.content.update(
          { info: { digest, labels: values }, updateMask: { paths: keys.map((key) => `labels.${key}`) } },
          md,
          opts,
          cb,
        ),
    );
    return toContentInfo(res.info, digest);
  }

  /** Large blobs go through the ingest's data file when this process can open it (ingest-files.ts). */
  async openWriter(options: WriterOptions): Promise<ContentWriter> {
    const deps = { context: this.context, logger: this.logger, labels: this };
    const root =
      this.ingestFiles !== undefined && wantsIngestFile(options)
        ? await this.ingestFiles.contentRoot(options.signal)
        : undefined;
    const writer = await (root === undefined
      ? openContentWriter(deps, options)
      : openIngestFileWriter(deps, options, root));
    this.logger.debug({ ref: options.ref, ingest: writer.ref }, 'content ingest opened');
    return writer;
  }

  async abortIngest(ref: string, { signal }: CallOptions): Promise<void> {
    await unaryCall<Empty__Output>(this.context, signal, 'content.Abort', (md, opts, cb) =>
      this.context.clients.content.abort({ ref }, md, opts, cb),
    );
  }

  /** All ingests in the namespace (containerd's ListStatuses). */
  async listIngests({ signal }: CallOptions): Promise<IngestStatus[]> {
    const res = await unaryCall<ListStatusesResponse__Output>(
      this.context,
      signal,
      'content.ListStatuses',
      (md, opts, cb) => this.context.clients.content.listStatuses({ filters: [] }, md, opts, cb),
    );
    return res.statuses.map((status) => ({
      ref: status.ref,
      offset: status.offset,
      total: status.total,
      ...(status.expected === '' ? {} : { expected: status.expected }),
    }));
  }

  /**
   * Blobs matching any of containerd's `filters` (e.g. `labels."KEY"` for those carrying a label), read from
   * the server-streamed List call; the reuse records' lookup (reuse-records.ts).
   */
  async list(filters: string[], { signal }: CallOptions): Promise<ContentInfo[]> {
    let call: ClientReadableStream<ListContentResponse__Output>;
    try {
      call = this.context.clients.content.list({ filters }, callMetadata(this.context));
    } catch (err) {
      throw fromGrpcError(err, { address: this.context.address, signal });
    }
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    const infos: ContentInfo[] = [];
    const messages = (call as AsyncIterable<ListContentResponse__Output>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await awaitDaemon(this.context, 'content.List', messages.next(), () => call.cancel());
        if (next.done === true) break;
        for (const info of next.value.info) infos.push(toContentInfo(info, 'content.List'));
      }
    } catch (err) {
      call.cancel();
      throw fromGrpcError(err, { address: this.context.address, signal });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return infos;
  }

  /** Removes a blob from the namespace (GC reclaims the file). Not part of ContentStore; used by tests. */
  async delete(digest: Digest, { signal }: CallOptions): Promise<void> {
    await unaryCall<Empty__Output>(this.context, signal, 'content.Delete', (md, opts, cb) =>
      this.context.clients.content.delete({ digest }, md, opts, cb),
    );
  }
}
