// A registry's failures as one-line TsconvertErrors naming the registry, what was asked and what to do:
// HTTP statuses with the distribution API's error codes ({"errors":[{"code","message"}]}), and the
// transport's own (refused connection, unknown host, TLS verification) by their error codes.

import { TsconvertError, type ErrorCode } from '../errors.js';

/**
 * Which location of the command a registry is, for the flags a hint names: a conversion's source (--src-…)
 * or destination (--dest-…), or the one image of `image verify` (--creds, --tls-verify, --cert-dir).
 */
export type Side = 'source' | 'destination' | 'image';

export function flagName(side: Side, name: string): string {
  return side === 'image' ? `--${name}` : `--${side === 'source' ? 'src' : 'dest'}-${name}`;
}

/** The distribution API's error body, as far as messages need it. */
export interface ApiError {
  code: string;
  message: string;
}

export function parseApiErrors(text: string): ApiError[] {
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    return (body.errors ?? []).map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? '') }));
  } catch {
    return [];
  }
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_')) return code;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isTlsError(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && (TLS_CODES.test(code) || code === 'EPROTO');
}

/** A failure to talk to the registry at all (no HTTP answer). */
export function transportError(err: unknown, host: string, side: Side, what: string): TsconvertError {
  if (err instanceof TsconvertError) return err;
  const code = errnoCode(err) ?? 'error';
  const why = err instanceof Error ? err.message : String(err);
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO') {
    return new TsconvertError('CONNECTION', `registry ${host} did not answer in TLS (${code}) ${what}`, {
      cause: err,
      hint: `if it serves plain HTTP, use ${flagName(side, 'tls-verify')}=false`,
    });
  }
  if (isTlsError(err)) {
    return new TsconvertError(
      'CONNECTION',
      `TLS verification of registry ${host} failed (${code}: ${why}) ${what}`,
      {
        cause: err,
        hint: `give the registry's CA certificate with ${flagName(side, 'cert-dir')} DIR (DIR/*.crt), or use ${flagName(side, 'tls-verify')}=false for a self-signed certificate or plain HTTP`,
      },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new TsconvertError('CONNECTION', `registry ${host} unreachable: unknown host (${code}) ${what}`, {
      cause: err,
      hint: 'check the registry name in the docker:// reference and the DNS',
    });
  }
  return new TsconvertError('CONNECTION', `registry ${host} unreachable (${code}: ${why}) ${what}`, {
    cause: err,
    hint: 'check the address and port, and that the registry is running',
  });
}

/** An HTTP answer that is not what the call wanted. */
export function statusError(
  status: number,
  body: string,
  context: { host: string; repository: string; side: Side; what: string; authenticated: boolean },
): TsconvertError {
  const { host, repository, side, what } = context;
  const errors = parseApiErrors(body);
  const detail =
    errors.length > 0
      ? errors.map((e) => `${e.code}: ${e.message}`).join('; ')
      : (body.trim().split('\n')[0]?.slice(0, 200) ?? '');
  const apiCodes = new Set(errors.map((e) => e.code));
  const at = `registry ${host} repository ${repository}`;
  const said = detail === '' ? `HTTP ${status}` : `HTTP ${status}, ${detail}`;
  const fail = (code: ErrorCode, message: string, hint?: string): TsconvertError =>
    new TsconvertError(code, message, hint === undefined ? {} : { hint });
  if (status === 401) {
    return fail(
      'PERMISSION_DENIED',
      `${at}: authentication failed ${what} (${said})`,
      context.authenticated
        ? `check the credentials (${flagName(side, 'creds')} USER:PASS, --authfile, or log in again with "podman login ${host}")`
        : `give credentials with ${flagName(side, 'creds')} USER:PASS or --authfile, or log in with "podman login ${host}"`,
    );
  }
  if (status === 403 || apiCodes.has('DENIED')) {
    return fail(
      'PERMISSION_DENIED',
      `${at}: access denied ${what} (${said})`,
      'use an account that may access this repository',
    );
  }
  if (status === 404 && (apiCodes.has('NAME_UNKNOWN') || apiCodes.has('MANIFEST_UNKNOWN'))) {
    return fail(
      'NOT_FOUND',
      `${at}: ${apiCodes.has('NAME_UNKNOWN') ? 'repository' : 'image'} not found ${what} (${said})`,
      'check the repository name and tag in the docker:// reference',
    );
  }
  if (status === 404) return fail('NOT_FOUND', `${at}: not found ${what} (${said})`);
  if (apiCodes.has('DIGEST_INVALID') || apiCodes.has('SIZE_INVALID')) {
    return fail('MALFORMED', `${at}: the registry refused the bytes ${what} (${said})`);
  }
  if (status === 429 || status >= 500) {
    return fail('UNAVAILABLE', `${at}: the registry kept failing ${what} (${said})`, 'try again later');
  }
  return fail('FAILED_PRECONDITION', `${at}: unexpected answer ${what} (${said})`);
}
