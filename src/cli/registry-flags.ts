// The flags of `docker://` locations, named as skopeo names them: --authfile (or $REGISTRY_AUTH_FILE),
// and per side of `image convert` --src-/--dest- creds USER:PASS, tls-verify[=false] and cert-dir DIR
// (`image verify`, like `skopeo inspect`: --creds, --tls-verify, --cert-dir). Declared and validated here;
// src/registry/credentials.ts does the lookup.

import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { parseCreds } from '../registry/credentials.js';
import type { RegistryFlags, RegistrySideFlags } from './locations.js';

function addSideFlags(cmd: Command, prefix: string, name: string): Command {
  return cmd
    .option(`--${prefix}creds <user:pass>`, `credentials for a docker:// ${name}`)
    .option(
      `--${prefix}tls-verify [bool]`,
      `verify the TLS certificate of a docker:// ${name} (default true); =false also allows plain HTTP`,
    )
    .option(
      `--${prefix}cert-dir <dir>`,
      `CA certificates (*.crt) and client certificate (*.cert, *.key) for a docker:// ${name}`,
    );
}

/** `image convert`: --src-… and --dest-… flags, and --authfile. */
export function addRegistryFlags(cmd: Command): Command {
  addSideFlags(cmd, 'src-', 'source');
  addSideFlags(cmd, 'dest-', 'destination');
  return addAuthfile(cmd);
}

/** `image verify`: --creds, --tls-verify, --cert-dir and --authfile. */
export function addImageRegistryFlags(cmd: Command): Command {
  return addAuthfile(addSideFlags(cmd, '', 'image'));
}

function addAuthfile(cmd: Command): Command {
  return cmd.addOption(
    new Option('--authfile <file>', 'registry credentials file (podman login / docker login format)').env(
      'REGISTRY_AUTH_FILE',
    ),
  );
}

function tlsVerify(value: unknown, flag: string): boolean {
  if (value === undefined || value === true || value === 'true') return true;
  if (value === 'false') return false;
  throw usageError(`${flag}=${String(value)}: want true or false`, { hint: `e.g. ${flag}=false` });
}

/** One side's flags; `prefix` is 'src', 'dest' or '' (commander's keys: srcCreds, creds, …). */
function side(raw: Record<string, unknown>, prefix: 'src' | 'dest' | ''): RegistrySideFlags {
  const key = (name: string): string =>
    prefix === '' ? name.charAt(0).toLowerCase() + name.slice(1) : `${prefix}${name}`;
  const flag = (name: string): string => (prefix === '' ? `--${name}` : `--${prefix}-${name}`);
  const creds = raw[key('Creds')];
  const certDir = raw[key('CertDir')];
  if (typeof creds === 'string') parseCreds(creds, flag('creds'));
  return {
    tlsVerify: tlsVerify(raw[key('TlsVerify')], flag('tls-verify')),
    ...(typeof creds === 'string' ? { creds } : {}),
    ...(typeof certDir === 'string' ? { certDir } : {}),
  };
}

export function registryFlags(raw: Record<string, unknown>): RegistryFlags {
  return {
    ...(typeof raw.authfile === 'string' && raw.authfile !== '' ? { authfile: raw.authfile } : {}),
    source: side(raw, 'src'),
    destination: side(raw, 'dest'),
    image: side(raw, ''),
  };
}
