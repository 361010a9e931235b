// The per-call plumbing every containerd service module uses: metadata (namespace, lease), call options,
// and a promise wrapper for unary calls that cancels the call when the AbortSignal fires and translates
// the gRPC status at this boundary.
import { Metadata, type CallOptions, type ClientUnaryCall, type requestCallback } from '@grpc/grpc-js';
import { abortError } from '../errors.js';
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

/** Runs one unary call; rejects with a TsconvertError (CANCELLED when `signal` fired). */
export function unaryCall<Res>(
  context: CallContext,
  signal: AbortSignal,
  start: UnaryStarter<Res>,
  options: CallOptions = {},
): Promise<Res> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<Res>((resolve, reject) => {
    const fail = (err: unknown): void => reject(fromGrpcError(err, { address: context.address, signal }));
    let call: ClientUnaryCall;
    const onAbort = (): void => call.cancel();
    try {
      call = start(callMetadata(context), options, (err, value) => {
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
