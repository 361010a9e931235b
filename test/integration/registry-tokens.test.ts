// Bearer tokens within one run, against Debian's registry with `auth: token` (it verifies every token the
// harness's issuer signs): a token the registry refuses as expired is replaced and the request sent again;
// a token about to expire is replaced before it is used; each repository and access gets its own scope.
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type RegistryBackend } from '../../src/registry/backend.js';
import { parseRegistryReference } from '../../src/registry/reference.js';
import { readJsonObject } from '../../src/store/json-blob.js';
import type { Digest } from '../../src/oci/digest.js';
import { silentLogger } from '../../src/util/log.js';
import { tsconvert } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const started: TestRegistry[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});

/** A token registry holding the sample image as tok/app:1. */
async function pushedRegistry(tokenSeconds?: number): Promise<TestRegistry> {
  const registry = await startRegistry({
    mode: 'token',
    ...(tokenSeconds === undefined ? {} : { tokenSeconds }),
  });
  started.push(registry);
  const r = await tsconvert([
    'image',
    'convert',
    '--dest-tls-verify=false',
    '--dest-creds',
    `${registry.user}:${registry.password}`,
    'oci-archive:examples/sample.tar',
    registry.ref('tok/app:1'),
  ]);
  expect(r.code, r.stderr).toBe(0);
  registry.tokens.issued.length = 0;
  return registry;
}

function open(registry: TestRegistry): Promise<RegistryBackend> {
  const reference = parseRegistryReference(registry.ref('tok/app:1'));
  if (reference === null) throw new Error('not a docker:// reference');
  return openRegistry({
    reference,
    side: 'source',
    tlsVerify: false,
    env: {},
    creds: `${registry.user}:${registry.password}`,
    logger: silentLogger,
    signal: AbortSignal.timeout(60_000),
  });
}

describe('registry tokens', () => {
  it('replaces a token the registry refuses as expired and sends the request again', async () => {
    const registry = await pushedRegistry();
    const backend = await open(registry);
    try {
      registry.tokens.expireNext = 1;
      const record = await backend.images.get('1', { signal: AbortSignal.timeout(60_000) });
      expect(record.target.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // The expired one, refused by the registry, then the one that worked.
      expect(registry.tokens.issued).toEqual(['repository:tok/app:pull', 'repository:tok/app:pull']);
      expect(registry.tokens.expireNext).toBe(0);
    } finally {
      await backend.close();
    }
  });

  it('keeps a token while it is fresh and replaces it before it expires', async () => {
    // 11 s tokens are fresh for 1 s: the client replaces a token 10 s before its expiry.
    const registry = await pushedRegistry(11);
    const backend = await open(registry);
    try {
      const signal = AbortSignal.timeout(60_000);
      const { target } = await backend.images.get('1', { signal });
      // A blob, asked of the registry (the manifest itself is held since get()).
      const manifest = await readJsonObject(backend.content, target, 'manifest', signal);
      const config = (manifest.config as { digest: Digest }).digest;
      await backend.content.info(config, { signal });
      expect(registry.tokens.issued).toEqual(['repository:tok/app:pull']);
      await new Promise((r) => setTimeout(r, 1500));
      await backend.content.info(config, { signal });
      expect(registry.tokens.issued).toEqual(['repository:tok/app:pull', 'repository:tok/app:pull']);
    } finally {
      await backend.close();
    }
  });
});
