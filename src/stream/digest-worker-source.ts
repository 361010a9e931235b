// What the digest thread runs (src/stream/digest-worker.ts): whole-stream sha256 over a shared ring per
// stream, the sha256 of a file it reads itself (a written blob), and gzip layers decoded whole (src/stream/offloaded-gunzip.ts): the compressed bytes come in
// through one shared ring, are hashed (the source digest) and inflated by node:zlib, and the tar goes out
// through another, hashed on the way (the DiffID). The main thread then only copies the source in and
// scans the tar out of the ring; it no longer runs gunzip's stream machinery or copies the tar to be hashed.

/** Int32 words of a gunzip job's control block, shared by both threads. */
export const GUNZIP = {
  /** Source bytes put in the input ring (main adds), and taken from it (the worker adds); modulo 2^32. */
  IN_WRITTEN: 0,
  IN_READ: 1,
  /** Tar bytes put in the output ring (the worker adds), and consumed (main adds); modulo 2^32. */
  OUT_WRITTEN: 2,
  OUT_READ: 3,
  /** Bumped by main on every input change (bytes, end): what the worker waits on for input. */
  IN_SEQ: 4,
  /** 1: the input has ended, 2: main stopped the job (the worker drops it). */
  IN_STATE: 5,
  WORDS: 6,
} as const;

/**
 * Tar bytes inflated between two collections of the thread's young generation, where zlib's dead output
 * buffers are freed (digest-worker.ts exposes gc() to the thread for this).
 */
const GC_EVERY_BYTES = 8 << 20;

// Source text, like the compression pool's worker, so the tests (which run the TypeScript) need no build.
export const DIGEST_WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const { createGunzip } = process.getBuiltinModule('node:zlib');
const G = ${JSON.stringify(GUNZIP)};
const open = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open')
    open.set(m.id, { hash: createHash('sha256'), ring: new Uint8Array(m.ring), hashed: new Int32Array(m.hashed) });
  else if (m.op === 'update') {
    const s = open.get(m.id);
    s.hash.update(s.ring.subarray(m.offset, m.offset + m.length));
    Atomics.add(s.hashed, 0, m.length);
    Atomics.notify(s.hashed, 0);
  } else if (m.op === 'finish') {
    const s = open.get(m.id);
    open.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: s.hash.digest('hex') });
  } else if (m.op === 'drop') open.delete(m.id);
  else if (m.op === 'gunzip') gunzip(m);
  else if (m.op === 'file') hashFile(m);
});

// The sha256 of a file's first m.size bytes, read here into a buffer of the job's own.
async function hashFile(m) {
  const { open, constants } = { open: process.getBuiltinModule('node:fs/promises').open, constants: process.getBuiltinModule('node:fs').constants };
  let file;
  try {
    file = await open(m.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const hash = createHash('sha256');
    const buffer = new Uint8Array(Math.min(m.size, 1 << 20));
    for (let at = 0; at < m.size; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, m.size - at), at);
      if (bytesRead === 0) throw new Error('the file ends at byte ' + at + ' of ' + m.size);
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    parentPort.postMessage({ op: 'file-digest', id: m.id, hex: hash.digest('hex') });
  } catch (err) {
    parentPort.postMessage({ op: 'file-error', id: m.id, message: String(err && err.message || err) });
  } finally {
    await file?.close();
  }
}

// Waits until word i of c is no longer v, or main notifies it (it does when it stops the job).
async function changed(c, i, v) {
  const r = Atomics.waitAsync(c, i, v);
  if (r.async) await r.value;
}

function gunzip(m) {
  const c = new Int32Array(m.control);
  const input = new Uint8Array(m.input);
  const output = new Uint8Array(m.output);
  const stopped = () => Atomics.load(c, G.IN_STATE) === 2;
  const source = createHash('sha256');
  const tar = createHash('sha256');
  const z = createGunzip({ chunkSize: m.piece });
  let failed = false;
  const fail = (err) => {
    if (failed) return;
    failed = true;
    z.destroy();
    if (!stopped()) parentPort.postMessage({ op: 'gunzip-error', id: m.id, message: String(err && err.message || err) });
  };
  z.on('error', fail);
  const feed = async () => {
    let read = 0;
    let at = 0;
    for (;;) {
      const seq = Atomics.load(c, G.IN_SEQ);
      if (stopped() || failed) return z.destroy();
      const n = Math.min((Atomics.load(c, G.IN_WRITTEN) - read) | 0, input.length - at);
      if (n > 0) {
        const piece = input.subarray(at, at + n);
        source.update(piece);
        // zlib is done with the piece once its write callback runs: only then may main reuse that memory.
        await new Promise((resolve, reject) => z.write(piece, (err) => (err ? reject(err) : resolve())));
        read = (read + n) | 0;
        at = (at + n) % input.length;
        Atomics.store(c, G.IN_READ, read);
        Atomics.notify(c, G.IN_READ);
      } else if (Atomics.load(c, G.IN_STATE) === 1) {
        // Its digest goes first, so a source that is not what its descriptor says is reported as that
        // rather than as the truncated gzip stream it also is.
        parentPort.postMessage({ op: 'gunzip-source', id: m.id, hex: source.digest('hex') });
        z.end();
        return;
      } else await changed(c, G.IN_SEQ, seq);
    }
  };
  const drain = async () => {
    let written = 0;
    let at = 0;
    let size = 0;
    let sinceGc = 0;
    for await (const piece of z) {
      tar.update(piece);
      size += piece.length;
      sinceGc += piece.length;
      if (sinceGc >= ${GC_EVERY_BYTES} && typeof gc === 'function') {
        sinceGc = 0;
        gc({ type: 'minor' });
      }
      for (let i = 0; i < piece.length; ) {
        const read = Atomics.load(c, G.OUT_READ);
        if (stopped()) return;
        const n = Math.min(piece.length - i, output.length - ((written - read) | 0), output.length - at);
        if (n === 0) {
          await changed(c, G.OUT_READ, read);
          continue;
        }
        output.set(piece.subarray(i, i + n), at);
        i += n;
        written = (written + n) | 0;
        at = (at + n) % output.length;
        Atomics.store(c, G.OUT_WRITTEN, written);
        Atomics.notify(c, G.OUT_WRITTEN);
      }
    }
    if (!failed && !stopped()) parentPort.postMessage({ op: 'gunzip-end', id: m.id, hex: tar.digest('hex'), size });
  };
  feed().catch(fail);
  drain().catch(fail);
}
`;
