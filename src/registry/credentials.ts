// Where the user's registry credentials come from, in the order skopeo and podman look (first match wins):
// `--src-creds`/`--dest-creds USER:PASS`; the auth file (`--authfile`, else $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json); then docker's ~/.docker/config.json. In either file an entry's
// `credHelpers[HOST]` or the file's `credsStore` runs `docker-credential-NAME get` as docker does (the host
// on stdin, {"Username","Secret"} on stdout); otherwise `auths[HOST].auth` is base64 of USER:PASS.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TsconvertError, usageError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialOptions {
  /** USER:PASS given on the command line. */
  creds?: string;
  /** --authfile (or $REGISTRY_AUTH_FILE). */
  authfile?: string;
  /** The environment to read $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR and $HOME from. */
  env: NodeJS.ProcessEnv;
}

interface AuthFile {
  auths?: Record<string, { auth?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** `--src-creds USER:PASS` split at the first ':'; USAGE error without one. */
export function parseCreds(value: string, flag: string): Credentials {
  const colon = value.indexOf(':');
  if (colon <= 0) throw usageError(`${flag}: want USER:PASS`, { hint: `e.g. ${flag} alice:secret` });
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** The keys an auth file may file `host` under (docker writes Docker Hub under its v1 URL). */
function keysFor(host: string): string[] {
  const keys = [host, `https://${host}`, `http://${host}`];
  if (host === 'docker.io')
    keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

async function readAuthFile(path: string, required: boolean): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TsconvertError('INVALID_ARGUMENT', `cannot read auth file ${path}: ${(err as Error).message}`, {
      hint: 'give a readable file to --authfile (or REGISTRY_AUTH_FILE), as written by "podman login"',
    });
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (err) {
    throw new TsconvertError('INVALID_ARGUMENT', `auth file ${path} is not JSON`, {
      cause: err,
      hint: 'log in again ("podman login HOST" or "docker login HOST") to rewrite it',
    });
  }
}

/** Runs `docker-credential-NAME get` for `host`; undefined when the helper has no entry for it. */
function runHelper(name: string, host: string, file: string): Promise<Credentials | undefined> {
  const helper = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(helper, ['get'], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        const text = `${stdout}${stderr}`;
        // Docker's helpers say "credentials not found" for a host they have nothing for.
        if (/not found/i.test(text) && (err as { code?: unknown }).code !== 'ENOENT') {
          resolve(undefined);
          return;
        }
        reject(
          new TsconvertError(
            'PERMISSION_DENIED',
            `credential helper ${helper} (named in ${file}) failed for ${host}: ${(text.trim() || err.message).split('\n')[0]}`,
            {
              hint: `install ${helper}, or give credentials with --src-creds/--dest-creds or --authfile`,
            },
          ),
        );
        return;
      }
      try {
        const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
        resolve({ username: out.Username ?? '', password: out.Secret ?? '' });
      } catch (cause) {
        reject(
          new TsconvertError('PERMISSION_DENIED', `credential helper ${helper} printed no JSON for ${host}`, {
            cause,
          }),
        );
      }
    });
    child.stdin?.end(host);
  });
}

async function fromFile(path: string, required: boolean, host: string): Promise<Credentials | undefined> {
  const file = await readAuthFile(path, required);
  if (file === undefined) return undefined;
  const keys = keysFor(host);
  const helper = keys.map((k) => file.credHelpers?.[k]).find((h) => h !== undefined);
  if (helper !== undefined) return runHelper(helper, host, path);
  const entry = keys.map((k) => file.auths?.[k]).find((e) => e !== undefined);
  if (entry?.auth !== undefined && entry.auth !== '') {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0)
      throw new TsconvertError(
        'INVALID_ARGUMENT',
        `auth file ${path}: the entry for ${host} is not base64 of USER:PASS`,
      );
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (file.credsStore !== undefined && file.credsStore !== '') return runHelper(file.credsStore, host, path);
  return undefined;
}

/** The credentials for `host`, or undefined (anonymous). */
export async function lookupCredentials(
  host: string,
  options: CredentialOptions,
  flag: string,
): Promise<Credentials | undefined> {
  if (options.creds !== undefined) return parseCreds(options.creds, flag);
  const { env } = options;
  const authfile = options.authfile ?? env.REGISTRY_AUTH_FILE;
  const files: Array<[string, boolean]> = [];
  if (authfile !== undefined && authfile !== '') files.push([authfile, true]);
  else if (env.XDG_RUNTIME_DIR) files.push([join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), false]);
  files.push([join(env.HOME ?? homedir(), '.docker', 'config.json'), false]);
  for (const [path, required] of files) {
    const found = await fromFile(path, required, host);
    if (found !== undefined) return found;
  }
  return undefined;
}
