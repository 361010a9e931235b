// Authentication and TLS against real registries: Debian's registry with `auth: token` (the harness's
// issuer signs, the registry verifies every token), and with htpasswd basic auth behind a self-signed
// certificate. Credentials from --dest-creds, --authfile, REGISTRY_AUTH_FILE, ~/.docker/config.json and a
// docker-credential helper; --dest-cert-dir and --dest-tls-verify=false; wrong and missing credentials and
// an unverifiable certificate end in one line naming what to do.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tsconvert } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const SAMPLE = 'oci-archive:examples/sample.tar';

let token: TestRegistry;
let basic: TestRegistry;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-regauth-'));
  dirs.push(d);
  return d;
}
beforeAll(async () => {
  [token, basic] = await Promise.all([startRegistry({ mode: 'token' }), startRegistry({ mode: 'basic' })]);
});
afterAll(async () => {
  await Promise.all([token.close(), basic.close()]);
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The one error line of a failed run (warnings aside). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('tsconvert: error:'));
}

/** skopeo's view of the digest; run asynchronously, as the token issuer answers from this process. */
async function skopeoDigest(ref: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('skopeo', ['inspect', ...args, ref], { encoding: 'utf8' });
  return (JSON.parse(stdout) as { Digest: string }).Digest;
}

describe('registry authentication', () => {
  it('pushes and pulls through bearer tokens scoped per repository, verified by the registry', async () => {
    const creds = `${token.user}:${token.password}`;
    const push = await tsconvert([
      'image',
      'convert',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      '--oci',
      SAMPLE,
      token.ref('tok/src:1'),
    ]);
    expect(push.code, push.stderr).toBe(0);
    expect(token.tokens.issued).toContain('repository:tok/src:pull,push');
    const both = [
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      creds,
      '--dest-creds',
      creds,
    ];
    const r = await tsconvert([
      'image',
      'convert',
      ...both,
      '--zstd',
      token.ref('tok/src:1'),
      token.ref('tok/dst:z'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    // The source is read with a pull-only token; mounting into the destination asks for both repositories.
    expect(token.tokens.issued).toContain('repository:tok/src:pull');
    expect(token.tokens.issued).toContain('repository:tok/dst:pull,push repository:tok/src:pull');
    expect(
      await skopeoDigest(`docker://${token.host}/tok/dst:z`, ['--tls-verify=false', '--creds', creds]),
    ).toBe(r.stdout.trim());
  });

  it('refuses wrong credentials with one line naming the registry and the flags', async () => {
    const r = await tsconvert([
      'image',
      'convert',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${token.user}:wrong`,
      '--oci',
      SAMPLE,
      token.ref('tok/wrong:1'),
    ]);
    expect(r.code).toBe(1);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `registry ${token.host}.*authentication failed.*HTTP 401.*check the credentials \\(--dest-creds`,
      ),
    );
    expect(token.tokens.refused).toBeGreaterThan(0);
    const b = await tsconvert([
      'image',
      'convert',
      '--dest-cert-dir',
      basic.certDir ?? '',
      '--dest-creds',
      `${basic.user}:wrong`,
      '--oci',
      SAMPLE,
      basic.ref('b/wrong:1'),
    ]);
    expect(b.code).toBe(1);
    expect(errorLines(b.stderr)).toEqual([
      expect.stringMatching(/authentication failed.*HTTP 401.*check the credentials/),
    ]);
  });

  it('asks for credentials when none are given to a registry that needs them', async () => {
    const r = await tsconvert(
      ['image', 'convert', '--dest-cert-dir', basic.certDir ?? '', '--oci', SAMPLE, basic.ref('b/anon:1')],
      { HOME: await tempDir(), XDG_RUNTIME_DIR: '' },
    );
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /authentication failed.*give credentials with --dest-creds USER:PASS or --authfile/,
      ),
    ]);
  });

  it('verifies TLS with --dest-cert-dir, skips verification with --dest-tls-verify=false, and names both when it fails', async () => {
    const creds = `${basic.user}:${basic.password}`;
    const withCa = await tsconvert([
      'image',
      'convert',
      '--dest-cert-dir',
      basic.certDir ?? '',
      '--dest-creds',
      creds,
      '--oci',
      SAMPLE,
      basic.ref('b/app:ca'),
    ]);
    expect(withCa.code, withCa.stderr).toBe(0);
    expect(
      await skopeoDigest(`docker://${basic.host}/b/app:ca`, [
        '--cert-dir',
        basic.certDir ?? '',
        '--creds',
        creds,
      ]),
    ).toBe(withCa.stdout.trim());
    const insecure = await tsconvert([
      'image',
      'convert',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      '--oci',
      SAMPLE,
      basic.ref('b/app:insecure'),
    ]);
    expect(insecure.code, insecure.stderr).toBe(0);
    const refused = await tsconvert([
      'image',
      'convert',
      '--dest-creds',
      creds,
      '--oci',
      SAMPLE,
      basic.ref('b/app:refused'),
    ]);
    expect(refused.code).toBe(1);
    expect(errorLines(refused.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `TLS verification of registry ${basic.host} failed.*--dest-cert-dir DIR.*--dest-tls-verify=false`,
        ),
      ),
    ]);
    // The source side names its own flags.
    const src = await tsconvert([
      'image',
      'convert',
      '--src-creds',
      creds,
      '--oci',
      basic.ref('b/app:ca'),
      `oci:${await tempDir()}:x`,
    ]);
    expect(errorLines(src.stderr)).toEqual([
      expect.stringMatching(/--src-cert-dir DIR.*--src-tls-verify=false/),
    ]);
  });

  it('finds credentials in --authfile, REGISTRY_AUTH_FILE, ~/.docker/config.json and a credential helper', async () => {
    const cert = ['--dest-cert-dir', basic.certDir ?? ''];
    const home = await tempDir();
    const env = { HOME: home, XDG_RUNTIME_DIR: '' };
    const authfile = await basic.writeAuthFile();
    const a = await tsconvert(
      ['image', 'convert', ...cert, '--authfile', authfile, '--oci', SAMPLE, basic.ref('b/files:a')],
      env,
    );
    expect(a.code, a.stderr).toBe(0);
    const e = await tsconvert(['image', 'convert', ...cert, '--oci', SAMPLE, basic.ref('b/files:e')], {
      ...env,
      REGISTRY_AUTH_FILE: authfile,
    });
    expect(e.code, e.stderr).toBe(0);
    await mkdir(join(home, '.docker'));
    const auth = Buffer.from(`${basic.user}:${basic.password}`).toString('base64');
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { [basic.host]: { auth } } }),
    );
    const d = await tsconvert(['image', 'convert', ...cert, '--oci', SAMPLE, basic.ref('b/files:d')], env);
    expect(d.code, d.stderr).toBe(0);
    // A helper named by credHelpers, speaking docker's protocol: the host on stdin, JSON on stdout.
    const bin = await tempDir();
    const helper = join(bin, 'docker-credential-tsctest');
    await writeFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread host\n[ "$host" = "${basic.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${basic.user}","Secret":"${basic.password}"}' "$host"\n`,
    );
    await chmod(helper, 0o755);
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ credHelpers: { [basic.host]: 'tsctest' } }),
    );
    const h = await tsconvert(['image', 'convert', ...cert, '--oci', SAMPLE, basic.ref('b/files:h')], {
      ...env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    });
    expect(h.code, h.stderr).toBe(0);
  });
});
