// Upload sessions a registry opens besides the writer's own: mounting a blob from another repository of
// the same registry (POST uploads/?mount=DIGEST&from=REPO, which opens a session when it cannot mount), and
// cancelling a session nobody will finish (best effort).

import type { Digest } from '../oci/digest.js';
import type { Repository } from './repository.js';

/** true when mounted; else the upload session the registry opened instead (or undefined). */
export async function mount(
  repo: Repository,
  d: Digest,
  from: string,
  signal: AbortSignal,
): Promise<true | string | undefined> {
  const res = await repo.client.expect(
    {
      method: 'POST',
      path: `${repo.uploadsPath}?mount=${encodeURIComponent(d)}&from=${encodeURIComponent(from)}`,
      scopes: [...repo.push, `repository:${from}:pull`],
      what: `mounting blob ${d} from ${from}`,
      signal,
    },
    [201, 202],
    repo.name,
  );
  await res.body.dump();
  if (res.statusCode === 201) {
    repo.logger.debug({ blob: d, from }, 'blob mounted from another repository');
    return true;
  }
  const location = res.headers.location;
  return typeof location === 'string' ? location : undefined;
}

/**
 * Mounts blob `d` into the repository from repository `from` of the same registry; false when the registry
 * would not (it does not have the blob there), after cancelling the upload it opened instead.
 */
export async function mountBlob(
  repo: Repository,
  d: Digest,
  from: string,
  signal: AbortSignal,
): Promise<boolean> {
  const mounted = await mount(repo, d, from, signal);
  if (mounted === true) return true;
  if (mounted !== undefined) await cancelUpload(repo, mounted);
  return false;
}

/** Cancels an upload session (best effort: an upload the registry lost is gone anyway). */
export async function cancelUpload(repo: Repository, location: string): Promise<void> {
  const deadline = AbortSignal.timeout(10_000);
  repo.logger.debug({ registry: repo.host, upload: location }, 'cancelling upload');
  try {
    const res = await repo.client.send({
      method: 'DELETE',
      path: location,
      scopes: repo.push,
      what: 'cancelling an upload',
      signal: deadline,
      retry: false,
    });
    await res.body.dump();
    repo.logger.debug({ registry: repo.host, status: res.statusCode }, 'upload cancelled');
  } catch (err) {
    // Registries expire abandoned uploads by themselves.
    repo.logger.debug({ registry: repo.host, err: String(err) }, 'cancelling upload failed');
  }
}
