// gRPC status → TsconvertError, done here at the adapter boundary and nowhere else. The daemon's own message
// (the status details, e.g. `content sha256:…: already exists`) is kept verbatim and the gRPC error is the
// cause. A cancelled call whose AbortSignal fired becomes the signal's CANCELLED error.
import { status, type ServiceError } from '@grpc/grpc-js';
import { abortError, TsconvertError, type ErrorCode } from '../errors.js';

export interface ErrorContext {
  /** Daemon address, for connection messages. */
  address: string;
  signal?: AbortSignal;
}

const CODE_MAP: Partial<Record<status, ErrorCode>> = {
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [status.OUT_OF_RANGE]: 'OUT_OF_RANGE',
  [status.UNIMPLEMENTED]: 'UNIMPLEMENTED',
  [status.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [status.CANCELLED]: 'CANCELLED',
};

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/**
 * containerd's own UNAVAILABLE errors (a locked ingest ref) end with the errdefs suffix ": unavailable";
 * grpc-js's transport failures ("No connection established", "Connection dropped") do not.
 */
function isDaemonUnavailable(details: string): boolean {
  return details.endsWith(': unavailable');
}

/** Translates any error thrown by a gRPC call; non-gRPC errors pass through unchanged. */
export function fromGrpcError(err: unknown, context: ErrorContext): unknown {
  if (err instanceof TsconvertError) return err;
  if (context.signal?.aborted === true) return abortError(context.signal);
  if (!isServiceError(err)) {
    // grpc-js throws this synchronously when a call is started after close().
    if (err instanceof Error && err.message === 'Channel has been shut down')
      return new TsconvertError('CONNECTION', `connection to containerd at ${context.address} is closed`, {
        cause: err,
      });
    return err;
  }
  const details = err.details === '' ? err.message : err.details;
  if (err.code === status.UNAVAILABLE && isDaemonUnavailable(details))
    return new TsconvertError('UNAVAILABLE', details, { cause: err });
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
    return new TsconvertError(
      'CONNECTION',
      `containerd at ${context.address} stopped answering: ${details}`,
      {
        cause: err,
        hint: 'check that containerd is running (systemctl status containerd) and look at its log',
      },
    );
  }
  const code = CODE_MAP[err.code as status] ?? 'INTERNAL';
  return new TsconvertError(code, details, { cause: err });
}
