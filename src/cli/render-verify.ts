// What `image verify` prints on stdout: per platform, one line per layer (format, size, which readers
// pull it lazily, partially or in full and why), each failed check and warning under it, and a summary
// line; or with --format json the same facts as one object.

import { shortDigest } from '../oci/digest.js';
import type { ReaderVerdict } from '../verify/readers.js';
import type { ImageVerdict } from '../verify/verify-image.js';
import type { LayerVerdict } from '../verify/verify-layer.js';

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u] ?? ''}`;
}

/** "lazy: stargz-snapshotter; full: containers/storage 1.57+ (podman 5.4+) (why)" — why only for full pulls. */
function readersText(readers: readonly ReaderVerdict[]): string {
  return readers
    .map((r) => {
      const why = r.pull === 'lazy' || r.pull === 'partial' ? '' : ` (${r.why})`;
      const broken =
        r.promised && why !== '' ? ' although its annotations promise a partial or lazy pull' : '';
      return `${r.pull}: ${r.reader}${why}${broken}`;
    })
    .join('; ');
}

function layerLines(platform: string, l: LayerVerdict): string[] {
  const head = `${l.ok ? 'ok  ' : 'FAIL'} ${platform} layer ${l.index} ${shortDigest(l.digest)} ${l.format} ${size(l.size)}`;
  return [
    `${head}: ${readersText(l.readers)}`,
    ...l.failures.map((f) => `       check ${f.check} failed: ${f.message}`),
    ...l.warnings.map((w) => `       note: ${w}`),
  ];
}

/** "linux/amd64 layer 2 sha256:…: check toc (message)" for every failed layer. */
export function failedLayers(v: ImageVerdict): string[] {
  return v.platforms.flatMap((p) =>
    p.layers
      .filter((l) => !l.ok)
      .map((l) => {
        const f = l.failures[0];
        const why = f !== undefined ? `check ${f.check} failed (${f.message})` : brokenPull(l);
        return `${p.platform} layer ${l.index} ${l.digest}: ${why}`;
      }),
  );
}

function brokenPull(l: LayerVerdict): string {
  const r = l.readers.find((x) => x.promised && x.pull !== 'lazy' && x.pull !== 'partial');
  return r === undefined
    ? 'failed'
    : `${r.reader} will pull it ${r.pull} (${r.why}) although its annotations promise more`;
}

function json(v: ImageVerdict): string {
  const out = {
    Image: `${v.image}@${v.digest}`,
    OK: v.ok,
    Platforms: v.platforms.map((p) => ({
      Platform: p.platform,
      Manifest: p.manifest,
      Layers: p.layers.map((l) => ({
        Index: l.index,
        Digest: l.digest,
        MediaType: l.mediaType,
        Size: l.size,
        Format: l.format,
        DiffID: l.diffId ?? null,
        OK: l.ok,
        Readers: l.readers.map((r) => ({ Reader: r.reader, Pull: r.pull, Why: r.why, Promised: r.promised })),
        Failures: l.failures.map((f) => ({ Check: f.check, Message: f.message })),
        Warnings: l.warnings,
      })),
    })),
  };
  return `${JSON.stringify(out, null, 4)}\n`;
}

export function renderVerdict(v: ImageVerdict, format: 'text' | 'json'): string {
  if (format === 'json') return json(v);
  const layers = v.platforms.flatMap((p) => p.layers);
  const failed = layers.filter((l) => !l.ok).length;
  const lines = [
    `${v.image}@${v.digest}`,
    ...v.platforms.flatMap((p) => p.layers.flatMap((l) => layerLines(p.platform, l))),
  ];
  const count = `${layers.length} layer${layers.length === 1 ? '' : 's'} in ${v.platforms.length} platform${v.platforms.length === 1 ? '' : 's'}`;
  lines.push(failed === 0 ? `verify: OK, ${count}` : `verify: FAILED, ${failed} of ${count}`);
  return `${lines.join('\n')}\n`;
}
