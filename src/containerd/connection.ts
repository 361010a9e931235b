// Opening a connection to containerd: parse the address, validate the namespace, look at the socket before
// dialling (so "not running", "wrong path" and "not root" each get one clear message with a hint), build the
// four service clients on one shared channel, and prove the daemon answers with a Version call.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { credentials, status, type ChannelOptions } from '@grpc/grpc-js';
import { TsconvertError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { parseAddress, validateNamespace, type ContainerdAddress } from './address.js';
import { ContainerdBackend } from './backend.js';
import { BlobFiles } from './blob-files.js';
import { fromGrpcError, isServiceError } from './errors.js';
import type { VersionResponse__Output } from './generated/containerd/services/version/v1/VersionResponse.js';
import { containerdProto } from './proto.js';
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_MS } from './defaults.js';
import { unaryCall, type CallContext, type ContainerdClients } from './rpc.js';

/** How long the first Version call may take before the daemon counts as not answering. */
const CONNECT_TIMEOUT_MS = 10_000;

// containerd's own limits are 16 MiB each way; we never let the client be the tighter side.
const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

export interface ConnectOptions {
  /** "/path/to/containerd.sock" or "unix:///path"; defaults to DEFAULT_ADDRESS. */
  address?: string;
  /** containerd namespace every call is made in; defaults to "default". */
  namespace?: string;
  logger: Logger;
  signal: AbortSignal;
  /** Read blobs from the daemon's content directory when this process can open them (default true). */
  readBlobFiles?: boolean;
  /** Write large blobs into their ingest files there when this process can open them (default true). */
  writeIngestFiles?: boolean;
  /** How long any one answer from the daemon may take (default DEFAULT_TIMEOUT_MS, defaults.ts). */
  timeoutMs?: number;
}

const ADDRESS_HINT = 'start containerd, or pass --address / set CONTAINERD_ADDRESS to its socket';

function socketError(addr: ContainerdAddress, err: unknown): TsconvertError {
  const code = (err as NodeJS.ErrnoException).code;
  const what = `cannot access containerd socket ${JSON.stringify(addr.socketPath)}`;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new TsconvertError('CONNECTION', `${what}: no such file`, { cause: err, hint: ADDRESS_HINT });
  if (code === 'EACCES' || code === 'EPERM') {
    return new TsconvertError('CONNECTION', `${what}: permission denied`, {
      cause: err,
      hint: 'run as root (e.g. with sudo) or give your user read/write access to the socket',
    });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new TsconvertError('CONNECTION', `${what}: ${detail}`, { cause: err, hint: ADDRESS_HINT });
}

/** Fails with one CONNECTION error when the path is missing, not a socket, or not ours to use. */
async function checkSocket(addr: ContainerdAddress): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await stat(addr.socketPath)).isSocket();
  } catch (err) {
    throw socketError(addr, err);
  }
  if (!isSocket) {
    throw new TsconvertError(
      'CONNECTION',
      `cannot access containerd socket ${JSON.stringify(addr.socketPath)}: not a socket`,
      { hint: ADDRESS_HINT },
    );
  }
  try {
    await access(addr.socketPath, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw socketError(addr, err);
  }
}

function createClients(target: string): ContainerdClients {
  const v1 = containerdProto().containerd.services;
  const creds = credentials.createInsecure();
  const content = new v1.content.v1.Content(target, creds, CHANNEL_OPTIONS);
  const shared = { ...CHANNEL_OPTIONS, channelOverride: content.getChannel() };
  return {
    content,
    images: new v1.images.v1.Images(target, creds, shared),
    introspection: new v1.introspection.v1.Introspection(target, creds, shared),
    leases: new v1.leases.v1.Leases(target, creds, shared),
    version: new v1.version.v1.Version(target, creds, shared),
  };
}

/** The daemon's version; a transport failure here means nothing is serving on the socket. */
async function probeVersion(context: CallContext, signal: AbortSignal): Promise<VersionResponse__Output> {
  try {
    return await unaryCall<VersionResponse__Output>(
      context,
      signal,
      'version.Version',
      (md, opts, cb) => context.clients.version.version({}, md, opts, cb),
      { deadline: Date.now() + Math.min(CONNECT_TIMEOUT_MS, context.timeoutMs) },
    );
  } catch (err) {
    if (signal.aborted) throw err;
    const grpcErr = err instanceof TsconvertError ? err.cause : err;
    if (isServiceError(grpcErr) && grpcErr.code !== status.UNIMPLEMENTED) {
      const permission = /EACCES|EPERM/.test(grpcErr.details);
      throw new TsconvertError('CONNECTION', `containerd at ${context.address} is not answering`, {
        cause: err,
        hint: permission
          ? 'run as root (e.g. with sudo) or give your user read/write access to the socket'
          : `is containerd running? (${grpcErr.details})`,
      });
    }
    throw fromGrpcError(err, { address: context.address, signal });
  }
}

/** Connects to containerd and returns the backend for one namespace. Close it when done. */
export async function connectContainerd(options: ConnectOptions): Promise<ContainerdBackend> {
  const addr = parseAddress(options.address ?? DEFAULT_ADDRESS);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  validateNamespace(namespace);
  await checkSocket(addr);
  const clients = createClients(addr.target);
  const context: CallContext = {
    clients,
    address: addr.original,
    namespace,
    lease: undefined,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  try {
    const version = await probeVersion(context, options.signal);
    options.logger.debug(
      { address: addr.original, namespace, version: version.version, revision: version.revision },
      'connected to containerd',
    );
    const reads = options.readBlobFiles !== false;
    const writes = options.writeIngestFiles !== false;
    const contentFiles =
      reads || writes ? { directory: new BlobFiles(context, options.logger), reads, writes } : undefined;
    return new ContainerdBackend(context, options.logger, {
      version: version.version,
      owner: true,
      contentFiles,
    });
  } catch (err) {
    clients.content.close();
    throw err;
  }
}
