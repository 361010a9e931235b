// The content Write stream as a ContentWriter. containerd's Write protocol has quirks that every message
// here is shaped around (observed on 1.6.20, see docs/containerd.md#write-stream):
// - the first message must carry the ref, and `action` is explicit on every message because STAT is 0;
// - a STAT first reports how much a stale ingest already holds, so an interrupted write can resume;
// - WRITE/COMMIT carry the current offset: offset 0 truncates, a COMMIT without it would throw data away;
// - each request gets one response, but a COMMIT is answered twice and a half-close re-sends the last
//   response, so we read exactly one response per request and drain the rest when closing;
// - a second stream on a ref that is being written fails with UNAVAILABLE ("ref … locked"): retried with
//   randomised exponential backoff, as containerd's Go client does (concurrent conversions hit this, see
//   goharbor/acceleration-service#46);
// - ALREADY_EXISTS on commit means the blob is there: success, then our labels are applied with Update;
// - a response that does not come within the context's timeout fails the write (rpc.ts, awaitDaemon).
// Data goes out in 1 MiB messages (the daemon accepts ≤ 16 MiB); within one write() up to WRITE_WINDOW of
// them are in flight, so a large write is not one round-trip per MiB, and write() resolves once all are
// acknowledged.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { isErrorCode, throwIfAborted, TsconvertError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type {
  CommitOptions,
  CommitResult,
  ContentInfo,
  ContentWriter,
  Labels,
  WriterOptions,
} from '../store/content-store.js';
import type { Logger } from '../util/log.js';
import { fromGrpcError } from './errors.js';
import type { WriteContentRequest } from './generated/containerd/services/content/v1/WriteContentRequest.js';
import type { WriteContentResponse__Output as WriteResponse } from './generated/containerd/services/content/v1/WriteContentResponse.js';
import { ResponseReader } from './response-reader.js';
import { abortableDelay, awaitDaemon, callMetadata, unaryCall, type CallContext } from './rpc.js';

/** Bytes per WRITE message: well under containerd's 16 MiB message limit. */
export const WRITE_CHUNK_SIZE = 1 << 20;
/** WRITE messages in flight within one write() before it waits for an acknowledgement. */
const WRITE_WINDOW = 4;
/** Backoff while another writer holds the ref's lock. */
const LOCK_RETRY_START_MS = 16;
const LOCK_RETRY_MAX_MS = 2_000;
/** How long closing waits for the daemon to end the stream before cancelling it (or --timeout if less). */
const CLOSE_TIMEOUT_MS = 5_000;

type WriteStream = ClientDuplexStream<WriteContentRequest, WriteResponse>;
type Action = WriteResponse['action'];

/** What the writer needs from its content store once the stream is gone. */
export interface LabelUpdater {
  updateLabels(digest: Digest, labels: Labels, options: { signal: AbortSignal }): Promise<ContentInfo>;
  info(digest: Digest, options: { signal: AbortSignal }): Promise<ContentInfo>;
}

export interface WriterDeps {
  context: CallContext;
  logger: Logger;
  labels: LabelUpdater;
}

function lockRetryDelay(attempt: number): number {
  const ceiling = Math.min(LOCK_RETRY_MAX_MS, LOCK_RETRY_START_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function protocolError(ref: string, what: string): TsconvertError {
  return new TsconvertError('INTERNAL', `content write ${JSON.stringify(ref)}: ${what}`);
}

/** A Write stream that can also be let go of without committing or removing its ingest. */
export interface StreamContentWriter extends ContentWriter {
  /** Ends the stream and frees the ref's lock; the ingest stays (see ingest-files.ts). */
  release(): Promise<void>;
}

/** Opens (or resumes) an ingest, waiting with backoff while another writer holds its lock. */
export async function openContentWriter(
  deps: WriterDeps,
  options: WriterOptions,
): Promise<StreamContentWriter> {
  const { context, logger } = deps;
  const { ref, signal } = options;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    let stream: WriteStream;
    try {
      stream = context.clients.content.write(callMetadata(context));
    } catch (err) {
      throw fromGrpcError(err, { address: context.address, signal });
    }
    logger.debug({ ref }, 'content write stream opened');
    const writer = new ContainerdContentWriter(deps, options, stream);
    try {
      await writer.start();
      return writer;
    } catch (err) {
      writer.cancel();
      if (!isErrorCode(err, 'UNAVAILABLE')) throw err;
      const delay = lockRetryDelay(attempt);
      logger.debug(
        { ref, attempt, delayMs: Math.round(delay), err: err.message },
        'ingest ref locked, retrying',
      );
      await abortableDelay(delay, signal);
    }
  }
}

class ContainerdContentWriter implements StreamContentWriter {
  readonly ref: string;
  private readonly reader: ResponseReader<WriteResponse>;
  /** Actions and offsets of requests whose response has not been read yet, oldest first. */
  private readonly pending: { action: Action; offset: number }[] = [];
  private sent = 0;
  private runningDigest = '';
  private failure: unknown;
  private closed = false;
  private aborted = false;
  private readonly onAbort = (): void => this.stream.cancel();

  constructor(
    private readonly deps: WriterDeps,
    private readonly options: WriterOptions,
    private readonly stream: WriteStream,
  ) {
    this.ref = options.ref;
    this.reader = new ResponseReader<WriteResponse>(stream);
    options.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get offset(): number {
    return this.sent;
  }

  /** STAT with the ref: takes the lock and learns the current offset of a stale ingest. */
  async start(): Promise<void> {
    const { ref, total, expected } = this.options;
    const stat = await this.request({ action: 'STAT', ref, total: total ?? 0, expected: expected ?? '' }, -1);
    this.sent = stat.offset;
    this.runningDigest = stat.digest;
    // Leftovers that cannot be the start of this blob: start again from zero.
    const tooLong = total !== undefined && total > 0 && stat.offset > total;
    const wrongComplete =
      total !== undefined && stat.offset === total && expected !== undefined && stat.digest !== expected;
    if (stat.offset > 0 && (tooLong || wrongComplete)) await this.truncate();
  }

  async write(data: Uint8Array): Promise<void> {
    this.assertUsable();
    for (let pos = 0; pos < data.length; pos += WRITE_CHUNK_SIZE) {
      // Not copied: write() holds the caller until every message is acknowledged, so the caller cannot
      // reuse the buffer while grpc-js still has to serialise a view of it.
      const chunk = data.subarray(pos, pos + WRITE_CHUNK_SIZE);
      while (this.pending.length >= WRITE_WINDOW) await this.receive();
      this.send({ action: 'WRITE', offset: this.sent, data: chunk }, this.sent + chunk.length);
      this.sent += chunk.length;
    }
    // Resolve only once the daemon has acknowledged everything: a caller that is interrupted after write()
    // resolved can rely on those bytes being in the ingest when it resumes.
    await this.flush();
  }

  async truncate(): Promise<void> {
    this.assertUsable();
    await this.flush();
    // WRITE at offset 0 without data resets the ingest (containerd truncates on a zero offset).
    await this.request({ action: 'WRITE', offset: 0 }, 0);
    this.sent = 0;
  }

  async commit(options: CommitOptions): Promise<CommitResult> {
    this.assertUsable();
    const expected = options.expected ?? this.options.expected;
    const labels = options.labels ?? {};
    try {
      await this.flush();
      const done = await this.request(
        {
          action: 'COMMIT',
          offset: this.sent,
          total: options.size ?? this.options.total ?? 0,
          expected: expected ?? '',
          labels,
        },
        this.sent,
      );
      await this.close();
      return { digest: done.digest as Digest, size: done.offset, existed: false };
    } catch (err) {
      this.cancel();
      if (!isErrorCode(err, 'ALREADY_EXISTS')) throw err;
      return this.alreadyExists((expected ?? this.runningDigest) as Digest, labels);
    }
  }

  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    await this.close();
    // Also after the signal fired: tsconvert never resumes a half-written conversion, so an interrupted
    // run must not leave its ingest behind (the Abort call does not use the signal).
    const { context } = this.deps;
    try {
      await unaryCall(context, new AbortController().signal, 'content.Abort', (md, opts, cb) =>
        context.clients.content.abort({ ref: this.ref }, md, opts, cb),
      );
    } catch (err) {
      if (!isErrorCode(err, 'NOT_FOUND')) throw err;
    }
  }

  async release(): Promise<void> {
    this.assertUsable();
    await this.flush();
    await this.close();
  }

  /** Ends the call at once (used on errors); the daemon releases the ref lock when it sees the reset. */
  cancel(): void {
    this.options.signal.removeEventListener('abort', this.onAbort);
    if (this.closed) return;
    this.closed = true;
    this.stream.cancel();
  }

  /** The blob was already stored: apply our labels (the daemon drops them on ALREADY_EXISTS). */
  private async alreadyExists(digest: Digest, labels: Labels): Promise<CommitResult> {
    const signal = this.options.signal;
    const info =
      Object.keys(labels).length > 0
        ? await this.deps.labels.updateLabels(digest, labels, { signal })
        : await this.deps.labels.info(digest, { signal });
    return { digest, size: info.size, existed: true };
  }

  /** Half-closes and waits for the daemon to end the stream, discarding its duplicate responses. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.options.signal.removeEventListener('abort', this.onAbort);
    this.closed = true;
    this.stream.end();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => {
          this.stream.cancel();
          resolve('timed out');
        },
        Math.min(CLOSE_TIMEOUT_MS, this.deps.context.timeoutMs),
      );
    });
    const trailing = await Promise.race([this.reader.drain(), timeout]);
    clearTimeout(timer);
    this.deps.logger.debug({ ref: this.ref, trailing }, 'content write stream closed');
  }

  private send(message: WriteContentRequest, expectOffset: number): void {
    this.stream.write(message);
    this.pending.push({ action: message.action as Action, offset: expectOffset });
  }

  /** Sends one request and reads its response (after the ones already pending). */
  private async request(message: WriteContentRequest, expectOffset: number): Promise<WriteResponse> {
    this.send(message, expectOffset);
    let response: WriteResponse;
    do response = await this.receive();
    while (this.pending.length > 0);
    return response;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) await this.receive();
  }

  /** Reads the response to the oldest pending request and checks it is the one we expect. */
  private async receive(): Promise<WriteResponse> {
    const want = this.pending.shift();
    if (want === undefined) throw protocolError(this.ref, 'no request is waiting for a response');
    let response: WriteResponse | undefined;
    try {
      response = await awaitDaemon(
        this.deps.context,
        `content.Write ${want.action} of ingest ${JSON.stringify(this.ref)}`,
        this.reader.next(),
        () => this.stream.cancel(),
      );
    } catch (err) {
      throw this.fail(
        fromGrpcError(err, { address: this.deps.context.address, signal: this.options.signal }),
      );
    }
    if (response === undefined) throw this.fail(protocolError(this.ref, 'containerd ended the stream early'));
    if (response.action !== want.action)
      throw this.fail(
        protocolError(this.ref, `got a ${response.action} response to a ${want.action} request`),
      );
    if (want.offset >= 0 && response.offset !== want.offset)
      throw this.fail(
        protocolError(this.ref, `containerd is at offset ${response.offset}, expected ${want.offset}`),
      );
    if (response.digest !== '') this.runningDigest = response.digest;
    return response;
  }

  private fail(err: unknown): unknown {
    this.failure ??= err;
    this.cancel();
    return err;
  }

  private assertUsable(): void {
    throwIfAborted(this.options.signal);
    if (this.aborted) throw protocolError(this.ref, 'writer was aborted');
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw protocolError(this.ref, 'writer is closed');
  }
}
