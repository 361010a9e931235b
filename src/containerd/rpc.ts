// The per-call plumbing every containerd service module uses: metadata (namespace, lease), call options,
// and a promise wrapper for unary calls that cancels the call when the AbortSignal fires and translates
// the gRPC status at this boundary. No wait on the daemon is open-ended: a unary call has a deadline and a
// stream a watchdog (`awaitDaemon`), both `timeoutMs`, so a stopped or wedged daemon (SIGSTOP, a hung
// disk) fails the run with a message naming the call instead of hanging it (issue 17, F2).
import {
  Metadata,
  status,
  type CallOptions,
  type ClientUnaryCall,
  type requestCallback,
} from '@grpc/grpc-js';
import { abortError, TsconvertError } from '../errors.js';
import type { ContentClient } from './generated/containerd/services/content/v1/Content.js';
import type { ImagesClient } from './generated/containerd/services/images/v1/Images.js';
import type { IntrospectionClient } from './generated/containerd/services/introspection/v1/Introspection.js';
import type { LeasesClient } from './generated/containerd/services/leases/v1/Leases.js';
import type { VersionClient } from './generated/containerd/services/version/v1/Version.js';
import { fromGrpcError } from './errors.js';

const NAMESPACE_HEADER = 'containerd-namespace';
const LEASE_HEADER = 'containerd-lease';

export interface ContainerdClients {
  content: ContentClient;
  images: ImagesClient;
  introspection: IntrospectionClient;
  leases: LeasesClient;
  version: VersionClient;
}

/** Everything a service module needs to make a call: the clients, where they point, and the headers. */
export interface CallContext {
  readonly clients: ContainerdClients;
  /** Daemon address as the user gave it, for messages. */
  readonly address: string;
  readonly namespace: string;
  /** Lease every write is attached to, when set. */
  readonly lease: string | undefined;
  /** Deadline of a unary call, and how long a stream may wait for the daemon's next message. */
  readonly timeoutMs: number;
}

/** The error of a call the daemon did not answer within `timeoutMs`. `call` names it ("leases.Delete"). */
export function daemonStalled(context: CallContext, call: string, cause?: unknown): TsconvertError {
  const seconds = Math.round(context.timeoutMs / 100) / 10;
  return new TsconvertError(
    'CONNECTION',
    `containerd at ${context.address} did not answer for ${seconds} s (${call})`,
    {
      cause,
      hint: 'check that it is running (systemctl status containerd) and look at its log; --timeout / TSCONVERT_TIMEOUT sets how long tsconvert waits',
    },
  );
}

/**
 * Waits for `pending` (the daemon's next message on a stream) at most `timeoutMs`; on time-out calls
 * `stop` (which cancels the stream) and rejects with daemonStalled. Only time spent waiting on the daemon
 * counts: a consumer that is slow to ask for the next message never trips it.
 */
export async function awaitDaemon<T>(
  context: CallContext,
  call: string,
  pending: Promise<T>,
  stop: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stop();
      reject(daemonStalled(context, call));
    }, context.timeoutMs);
  });
  try {
    return await Promise.race([pending, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

export function callMetadata(context: CallContext): Metadata {
  const metadata = new Metadata();
  metadata.set(NAMESPACE_HEADER, context.namespace);
  if (context.lease !== undefined) metadata.set(LEASE_HEADER, context.lease);
  return metadata;
}

export type UnaryStarter<Res> = (
  metadata: Metadata,
  options: CallOptions,
  callback: requestCallback<Res>,
) => ClientUnaryCall;

/**
 * Runs one unary call, named `name` in messages ("content.Info"), with a deadline of `timeoutMs` unless
 * `options` sets one; rejects with a TsconvertError (CANCELLED when `signal` fired).
 */
export function unaryCall<Res>(
  context: CallContext,
  signal: AbortSignal,
  name: string,
  start: UnaryStarter<Res>,
  options: CallOptions = {},
): Promise<Res> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  const callOptions: CallOptions = { deadline: Date.now() + context.timeoutMs, ...options };
  return new Promise<Res>((resolve, reject) => {
    const fail = (err: unknown): void => {
      const timedOut =
        options.deadline === undefined &&
        !signal.aborted &&
        (err as { code?: unknown } | null)?.code === status.DEADLINE_EXCEEDED;
      reject(
        timedOut
          ? daemonStalled(context, name, err)
          : fromGrpcError(err, { address: context.address, signal }),
      );
    };
    let call: ClientUnaryCall;
    const onAbort = (): void => call.cancel();
    try {
      call = start(callMetadata(context), callOptions, (err, value) => {
        signal.removeEventListener('abort', onAbort);
        if (err !== null) fail(err);
        else if (value === undefined) reject(new Error('containerd returned an empty response'));
        else resolve(value);
      });
    } catch (err) {
      fail(err); // grpc-js throws synchronously on a closed channel
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sleeps `ms`, rejecting with the signal's CANCELLED error as soon as it fires. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
