// Address and namespace checks done before any gRPC call, with the daemon's own wording, so a typo fails
// fast with a clear message instead of a transport error.
import { TsconvertError } from '../errors.js';

export interface ContainerdAddress {
  /** What the user gave, for messages. */
  readonly original: string;
  /** File-system path of the unix socket. */
  readonly socketPath: string;
  /** The grpc-js target ("unix:///path"). */
  readonly target: string;
}

/** Accepts "/path/to/sock" and "unix:///path/to/sock"; any other scheme is rejected. */
export function parseAddress(address: string): ContainerdAddress {
  const invalid = (): TsconvertError =>
    new TsconvertError('INVALID_ARGUMENT', `invalid address ${JSON.stringify(address)}`, {
      hint: 'use a unix socket path such as /run/containerd/containerd.sock or unix:///path',
    });
  let socketPath: string;
  if (address.startsWith('unix://')) socketPath = address.slice('unix://'.length);
  else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address)) throw invalid();
  else socketPath = address;
  if (!socketPath.startsWith('/')) throw invalid();
  return { original: address, socketPath, target: `unix://${socketPath}` };
}

// containerd's identifier rule (pkg/identifiers): alphanumerics joined by single '.', '_' or '-', ≤ 76 chars.
const IDENTIFIER_RE = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;
const MAX_IDENTIFIER_LENGTH = 76;

/** Throws INVALID_ARGUMENT with containerd's message when the namespace would be refused by the daemon. */
export function validateNamespace(namespace: string): void {
  const fail = (detail: string): never => {
    throw new TsconvertError('INVALID_ARGUMENT', `namespace validation: ${detail}`, {
      hint: 'a namespace is letters and digits, optionally joined by single ".", "_" or "-"',
    });
  };
  if (namespace === '') fail('identifier must not be empty');
  if (namespace.length > MAX_IDENTIFIER_LENGTH)
    fail(
      `identifier ${JSON.stringify(namespace)} greater than maximum length (${MAX_IDENTIFIER_LENGTH} characters)`,
    );
  if (!IDENTIFIER_RE.test(namespace))
    fail(`identifier ${JSON.stringify(namespace)} must match ${IDENTIFIER_RE.source}`);
}
