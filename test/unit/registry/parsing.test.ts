// The pure parts of the registry backend: docker:// references, WWW-Authenticate challenges, token answers,
// credential files, and which written blobs are manifests (held back until the image record is put).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isFresh, parseChallenge, tokenFrom } from '../../../src/registry/auth.js';
import { lookupCredentials, parseCreds } from '../../../src/registry/credentials.js';
import { formatRegistryReference, parseRegistryReference } from '../../../src/registry/reference.js';
import { asManifest } from '../../../src/registry/repository.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('docker:// references', () => {
  it('splits host, repository and tag or digest, normalising Docker Hub names', () => {
    expect(parseRegistryReference('oci:x')).toBeNull();
    expect(parseRegistryReference('docker://127.0.0.1:5000/a/b:v1')).toEqual({
      host: '127.0.0.1:5000',
      apiHost: '127.0.0.1:5000',
      repository: 'a/b',
      reference: 'v1',
      byDigest: false,
    });
    expect(parseRegistryReference('docker://alpine')).toMatchObject({
      host: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/alpine',
      reference: 'latest',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    const r = parseRegistryReference(`docker://localhost:5000/app:tag@${digest}`);
    expect(r).toMatchObject({ repository: 'app', reference: digest, byDigest: true });
    expect(r && formatRegistryReference(r)).toBe(`docker://localhost:5000/app@${digest}`);
    expect(() => parseRegistryReference('docker://')).toThrow(/needs an image name/);
    expect(() => parseRegistryReference('docker://Host:5000/UPPER')).toThrow(/lowercase/);
  });
});

describe('auth', () => {
  it('parses bearer and basic challenges, quoted values with commas and escapes', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token?a=1,b",service="reg",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token?a=1,b',
        service: 'reg',
        scope: 'repository:a/b:pull,push',
      },
    });
    expect(parseChallenge('Basic realm="x \\"y\\""')).toEqual({
      scheme: 'basic',
      params: { realm: 'x "y"' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('reads token answers with either field, their lifetime, and when to replace them', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(tokenFrom({ access_token: 't', expires_in: 120 }, now)).toEqual({
      value: 't',
      expiresAt: now + 120_000,
    });
    // The specification's default lifetime is 60 s; an issue time in our future counts from now.
    expect(tokenFrom({ token: 't', issued_at: '2026-01-01T00:10:00Z' }, now)).toEqual({
      value: 't',
      expiresAt: now + 60_000,
    });
    expect(tokenFrom({ token: '' }, now)).toBeUndefined();
    expect(isFresh({ value: 't', expiresAt: now + 11_000 }, now)).toBe(true);
    expect(isFresh({ value: 't', expiresAt: now + 9_000 }, now)).toBe(false);
  });
});

describe('credentials', () => {
  it('takes USER:PASS from the flag and refuses a value without a colon', () => {
    expect(parseCreds('u:p:q', '--src-creds')).toEqual({ username: 'u', password: 'p:q' });
    expect(() => parseCreds('nocolon', '--dest-creds')).toThrow(/--dest-creds: want USER:PASS/);
  });

  it('looks in the auth file first, then docker config, under the keys docker writes', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tsc-creds-'));
    dirs.push(home);
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const authfile = join(home, 'auth.json');
    await writeFile(authfile, JSON.stringify({ auths: { 'reg.example:5000': { auth: b64('a:1') } } }));
    await mkdir(join(home, '.docker'));
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:2') },
          'reg.example:5000': { auth: b64('b:3') },
        },
      }),
    );
    const env = { HOME: home };
    expect(await lookupCredentials('reg.example:5000', { env, authfile }, '--src-creds')).toEqual({
      username: 'a',
      password: '1',
    });
    expect(await lookupCredentials('reg.example:5000', { env }, '--src-creds')).toEqual({
      username: 'b',
      password: '3',
    });
    expect(await lookupCredentials('docker.io', { env }, '--src-creds')).toEqual({
      username: 'hub',
      password: '2',
    });
    expect(await lookupCredentials('other.example', { env }, '--src-creds')).toBeUndefined();
    expect(await lookupCredentials('reg.example:5000', { env, creds: 'c:4' }, '--src-creds')).toEqual({
      username: 'c',
      password: '4',
    });
    await expect(
      lookupCredentials('x', { env, authfile: join(home, 'missing.json') }, '--src-creds'),
    ).rejects.toThrow(/cannot read auth file/);
  });
});

describe('manifests among written blobs', () => {
  it('holds manifests and indexes, never configs or other JSON', () => {
    const j = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
    expect(asManifest(j({ schemaVersion: 2, config: {}, layers: [] }))?.mediaType).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(asManifest(j({ schemaVersion: 2, manifests: [] }))?.mediaType).toBe(
      'application/vnd.oci.image.index.v1+json',
    );
    const docker = 'application/vnd.docker.distribution.manifest.v2+json';
    expect(asManifest(j({ schemaVersion: 2, mediaType: docker, config: {}, layers: [] }))?.mediaType).toBe(
      docker,
    );
    expect(asManifest(j({ architecture: 'amd64', rootfs: { diff_ids: [] } }))).toBeUndefined();
    expect(asManifest(j({ _type: 'https://in-toto.io/Statement/v0.1', subject: [] }))).toBeUndefined();
    expect(asManifest(Buffer.from('not json'))).toBeUndefined();
  });
});
