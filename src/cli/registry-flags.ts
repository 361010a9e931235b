// The flags of `docker://` locations, named as skopeo names them: --authfile (or $REGISTRY_AUTH_FILE),
// and per side --src-/--dest- creds USER:PASS, tls-verify[=false] and cert-dir DIR. Declared and
// validated here; src/registry/credentials.ts does the lookup.

import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { parseCreds } from '../registry/credentials.js';
import type { RegistryFlags, RegistrySideFlags } from './locations.js';

export function addRegistryFlags(cmd: Command): Command {
  for (const [side, name] of [
    ['src', 'source'],
    ['dest', 'destination'],
  ] as const) {
    cmd
      .option(`--${side}-creds <user:pass>`, `credentials for a docker:// ${name}`)
      .option(
        `--${side}-tls-verify [bool]`,
        `verify the TLS certificate of a docker:// ${name} (default true); =false also allows plain HTTP`,
      )
      .option(
        `--${side}-cert-dir <dir>`,
        `CA certificates (*.crt) and client certificate (*.cert, *.key) for a docker:// ${name}`,
      );
  }
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

function side(raw: Record<string, unknown>, prefix: 'src' | 'dest'): RegistrySideFlags {
  const key = (name: string): string => `${prefix}${name}`;
  const creds = raw[key('Creds')];
  const certDir = raw[key('CertDir')];
  if (typeof creds === 'string') parseCreds(creds, `--${prefix}-creds`);
  return {
    tlsVerify: tlsVerify(raw[key('TlsVerify')], `--${prefix}-tls-verify`),
    ...(typeof creds === 'string' ? { creds } : {}),
    ...(typeof certDir === 'string' ? { certDir } : {}),
  };
}

export function registryFlags(raw: Record<string, unknown>): RegistryFlags {
  return {
    ...(typeof raw.authfile === 'string' && raw.authfile !== '' ? { authfile: raw.authfile } : {}),
    source: side(raw, 'src'),
    destination: side(raw, 'dest'),
  };
}
