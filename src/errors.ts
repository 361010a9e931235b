// Typed errors shared by every layer of tsconvert. Each carries a stable code, the exit code the CLI maps
// it to, an optional hint (what the user should do) and the underlying cause. The CLI prints one line from
// `message` + `hint`; `--debug` adds the stack. Backends translate their own failures (gRPC statuses, errno)
// into these at their boundary only, so the converter core never sees transport details.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'OUT_OF_RANGE'
  | 'PERMISSION_DENIED'
  | 'UNIMPLEMENTED'
  | 'CANCELLED'
  | 'CONNECTION'
  | 'MISSING_CONTENT'
  | 'MALFORMED'
  | 'USAGE'
  | 'INTERNAL';

export interface TsconvertErrorOptions {
  cause?: unknown;
  /** What the user can do about it, printed after the message. */
  hint?: string;
}

export class TsconvertError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TsconvertErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsconvertError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isErrorCode(err: unknown, code: ErrorCode): err is TsconvertError {
  return err instanceof TsconvertError && err.code === code;
}

export const notFound = (message: string, options?: TsconvertErrorOptions): TsconvertError =>
  new TsconvertError('NOT_FOUND', message, options);

export const malformed = (message: string, options?: TsconvertErrorOptions): TsconvertError =>
  new TsconvertError('MALFORMED', message, options);

/** What refused the bytes of an InvalidDataError. */
export type InvalidDataSource = 'tar' | 'compression' | 'digest';

/**
 * Bytes of a blob that are not what they claim to be, refused where they are read: by the tar scanner, a
 * decompressor or a digest check. Only these may call a source blob corrupt; errors of files and stores
 * (a full disk, a read-only mount) never are. Typed here so that no caller classifies by message text.
 */
export class InvalidDataError extends TsconvertError {
  readonly source: InvalidDataSource;

  constructor(source: InvalidDataSource, message: string, options: TsconvertErrorOptions = {}) {
    super('MALFORMED', message, options);
    this.name = 'InvalidDataError';
    this.source = source;
  }
}

/** What a descriptor promises about a blob, and what its bytes turned out to be. */
export interface BlobFacts {
  /** A digest string such as `sha256:…`. */
  digest: string;
  size: number;
}

/**
 * Bytes that do not match their descriptor. With the right digest but another size, the blob is intact and
 * the descriptor (the manifest listing it) is wrong; with another digest, the blob itself is damaged.
 */
export class ContentMismatch extends InvalidDataError {
  readonly expected: BlobFacts;
  readonly actual: BlobFacts;

  constructor(expected: BlobFacts, actual: BlobFacts) {
    const why =
      actual.digest !== expected.digest
        ? `its content hashes to ${actual.digest}` +
          (actual.size === expected.size ? '' : ` and has ${actual.size} bytes, not ${expected.size}`)
        : `it has ${actual.size} bytes, but its descriptor says ${expected.size}`;
    super('digest', `does not match its descriptor: ${why}`);
    this.name = 'ContentMismatch';
    this.expected = expected;
    this.actual = actual;
  }

  /** Only the size is wrong: the blob is intact and whatever lists it is not. */
  get sizeOnly(): boolean {
    return this.actual.digest === this.expected.digest;
  }
}

/** A tar stream that breaks the format (the tar scanner's error). */
export const invalidTar = (message: string, options?: TsconvertErrorOptions): InvalidDataError =>
  new InvalidDataError('tar', message, options);

export const usageError = (message: string, options?: TsconvertErrorOptions): TsconvertError =>
  new TsconvertError('USAGE', message, options);

/** The error an aborted operation rejects with; the CLI turns it into exit 130/143. */
export function abortError(signal: AbortSignal): TsconvertError {
  const reason: unknown = signal.reason;
  const message = reason instanceof Error ? reason.message : 'operation cancelled';
  return new TsconvertError('CANCELLED', message, { cause: reason });
}

/** Throws the signal's abort error when it has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}
