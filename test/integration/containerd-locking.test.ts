// Ingest locking against the real daemon: a second writer on a ref that is being written waits (retrying
// the daemon's UNAVAILABLE "ref … locked") and gets the ref once the first writer is done; an abort signal
// ends that wait promptly. All on the Write stream: a writer through the ingest file has a ref of its own
// (containerd-ingest-files.test.ts shows two of them working side by side).
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { openTestBackend, type TestBackend } from '../helpers/backend.js';
import { recordingLogger } from '../helpers/containerd.js';

let current: TestBackend | undefined;

afterEach(async () => {
  await current?.backend.close();
  current = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('containerd ingest lock', () => {
  it('a second writer on the same ref waits for the lock and succeeds after the first ends', async () => {
    const logger = recordingLogger();
    current = await openTestBackend(logger, 'lock', { writeIngestFiles: false });
    const { backend, signal } = current;
    const data = Buffer.from('written by the first writer');
    const first = await backend.content.openWriter({ ref: 'shared-ref', signal });
    await first.write(data);

    let secondOpened = false;
    const second = backend.content.openWriter({ ref: 'shared-ref', signal }).then((w) => {
      secondOpened = true;
      return w;
    });
    // containerd 1.6 answers a locked ref after ~250 ms (longer on a busy machine): wait for the first retry.
    const retried = (): typeof logger.records =>
      logger.records.filter((r) => r.msg === 'ingest ref locked, retrying');
    for (let waited = 0; retried().length === 0 && waited < 20_000; waited += 100) await sleep(100);
    expect(secondOpened).toBe(false);
    const retries = retried();
    expect(retries.length).toBeGreaterThan(0);
    expect(String(retries[0]?.obj.err)).toMatch(/shared-ref locked for .*: unavailable$/);

    const committed = await first.commit({ size: data.length });
    expect(committed.existed).toBe(false);
    const writer = await second;
    // The first writer committed, so the ref starts empty again.
    expect(writer.offset).toBe(0);
    await writer.write(data);
    expect(await writer.commit({ size: data.length })).toEqual({
      digest: sha256Digest(data),
      size: data.length,
      existed: true,
    });
    const opened = logger.records.filter((r) => r.msg === 'content write stream opened');
    expect(opened.length).toBeGreaterThanOrEqual(3);
    expect(opened.every((r) => r.obj.ref === 'shared-ref')).toBe(true);
  });

  it('an abort during the lock wait rejects promptly with CANCELLED', async () => {
    current = await openTestBackend(recordingLogger(), 'lock', { writeIngestFiles: false });
    const { backend, signal } = current;
    const holder = await backend.content.openWriter({ ref: 'held-ref', signal });
    await holder.write(Buffer.from('held'));
    // Let the backoff grow towards its cap so the abort lands in a long sleep.
    const ac = new AbortController();
    const waiting = backend.content.openWriter({ ref: 'held-ref', signal: ac.signal });
    const outcome = waiting.then(
      () => 'opened',
      (err: unknown) => err,
    );
    await sleep(1_500);
    const abortedAt = performance.now();
    ac.abort(new Error('user pressed ctrl-c'));
    const err = await outcome;
    // Well under the 2 s backoff cap it would otherwise sleep through; generous for a busy CI machine.
    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    expect(err).toMatchObject({ code: 'CANCELLED', message: 'user pressed ctrl-c' });
    // The holder is unaffected.
    expect((await holder.commit({ size: 4 })).digest).toBe(sha256Digest('held'));
  });
});
