// The words of the progress display, shared by the terminal view and the plain log lines: one layer's
// line, the total line, byte sizes and durations. Pure functions of a snapshot and a clock reading.

import type { LayerProgress, LayerState } from '../convert/progress.js';
import { shortDigest } from '../oci/digest.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1.5 MiB`, `512 B`: binary units, one decimal from KiB on. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `850 ms`, `12.3 s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (whole < 3600) return `${Math.floor(whole / 60)}m${pad(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h${pad(Math.floor((whole % 3600) / 60))}m`;
}

/** Bytes per second over `ms`, or undefined while too little time has passed to say. */
export function rate(bytes: number, ms: number): number | undefined {
  return ms < 200 ? undefined : (bytes * 1000) / ms;
}

const STATE_WORDS: Readonly<Record<LayerState, string>> = {
  waiting: 'waiting',
  converting: 'converting',
  shared: 'shared with a duplicate',
  reused: 'reused',
  done: 'done',
  kept: 'kept as is',
};

/** `layer 3/5 1a2b3c4d5e6f (linux/arm64)`: which record, in the image's order. */
export function layerName(layer: LayerProgress, total: number): string {
  const where = layer.platform === '' ? '' : ` (${layer.platform})`;
  return `layer ${layer.position}/${total} ${shortDigest(layer.digest)}${where}`;
}

/** What a record's state says, with what is known once it is final. */
export function stateText(layer: LayerProgress): string {
  const word = STATE_WORDS[layer.state];
  switch (layer.state) {
    case 'shared':
      return `${word} (layer ${layer.sharedWith ?? '?'})`;
    case 'kept':
      return layer.reason === undefined ? word : `${word}: ${layer.reason}`;
    case 'done':
    case 'reused': {
      const to = layer.result === undefined ? '' : ` -> ${shortDigest(layer.result)}`;
      const why = layer.reason === undefined ? '' : ` (${layer.reason})`;
      return `${word}${to}${why}`;
    }
    default:
      return word;
  }
}

/**
 * One record's line. A converting layer shows its bytes, the share of its source read and its rate since it
 * started; a finished one what it read and wrote.
 */
export function layerLine(
  layer: LayerProgress,
  total: number,
  startedAt: number | undefined,
  now: number,
): string {
  const name = layerName(layer, total);
  if (layer.state === 'converting') {
    const share = layer.size > 0 ? ` ${Math.floor((layer.read * 100) / layer.size)}%` : '';
    const r = startedAt === undefined ? undefined : rate(layer.read, now - startedAt);
    const speed = r === undefined ? '' : ` ${formatBytes(r)}/s`;
    return `${name} converting ${formatBytes(layer.read)}/${formatBytes(layer.size)}${share} -> ${formatBytes(layer.written)}${speed}`;
  }
  if (layer.state === 'done')
    return `${name} ${stateText(layer)}: read ${formatBytes(layer.read)}, wrote ${formatBytes(layer.written)}`;
  return `${name} ${stateText(layer)}`;
}

/** The run as a whole, for the total line. */
export interface Totals {
  /** Records in a final state, of all records. */
  finished: number;
  records: number;
  /** Source bytes the run reads at most (distinct layers), and how much of it is behind it. */
  toRead: number;
  read: number;
  written: number;
  elapsedMs: number;
}

/** Sums a snapshot: a finished layer counts its whole source as behind the run, a shared one nothing. */
export function totalsOf(layers: readonly LayerProgress[], elapsedMs: number): Totals {
  let finished = 0;
  let toRead = 0;
  let read = 0;
  let written = 0;
  const seen = new Set<string>();
  for (const l of layers) {
    if (l.state !== 'waiting' && l.state !== 'converting') finished += 1;
    if (seen.has(l.digest)) continue;
    seen.add(l.digest);
    toRead += l.size;
    read += l.state === 'converting' ? l.read : l.state === 'waiting' ? 0 : l.size;
    written += l.written;
  }
  return { finished, records: layers.length, toRead, read, written, elapsedMs };
}

/** `3/5 layers, read 120.0 MiB of 300.0 MiB, wrote 80.0 MiB, 12.3 s, ETA 20.1 s`. */
export function totalLine(t: Totals, final = false): string {
  const base = `${t.finished}/${t.records} layers, read ${formatBytes(t.read)} of ${formatBytes(t.toRead)}, wrote ${formatBytes(t.written)}, ${formatDuration(t.elapsedMs)}`;
  if (final) return base;
  const r = rate(t.read, t.elapsedMs);
  const eta = r === undefined || r === 0 ? '?' : formatDuration(((t.toRead - t.read) * 1000) / r);
  return `${base}, ETA ${eta}`;
}
