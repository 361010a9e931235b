// What the converter core tells a progress display: one record per layer of the image (per occurrence, in
// the image's order, so a duplicate has its own line), a typed event each time a record changes state, and
// byte counts that are read on demand. The counts are the layer job's own counters (the digest taps it
// runs anyway), so the hot path pays nothing for progress: whoever draws polls `read` and `written` at its
// own pace. Nothing here knows about terminals; the CLI renders (src/cli/progress*.ts).

export type LayerState =
  /** Not started yet: waiting for a job slot or for memory. */
  | 'waiting'
  /** Being read, converted and written. */
  | 'converting'
  /** A duplicate of another layer record (same digest): that one does the work, this one takes its result. */
  | 'shared'
  /** Not converted: a result recorded by an earlier run is used (reuse of converted layers). */
  | 'reused'
  /** Converted and committed. */
  | 'done'
  /** Kept as it is (already in the format asked for, not a layer, or no layer format asked for). */
  | 'kept';

/** States after which a record does not change again. */
export const FINAL_STATES: ReadonlySet<LayerState> = new Set(['shared', 'reused', 'done', 'kept']);

export interface LayerProgress {
  /** 1-based position among the image's layer records (tree order, repeats included). */
  readonly position: number;
  readonly digest: string;
  /** Size of the source blob. */
  readonly size: number;
  /** The platform of the manifest that lists it ('' when the image does not say). */
  readonly platform: string;
  readonly state: LayerState;
  /** Source bytes read so far (as stored, compressed); live while converting. */
  readonly read: number;
  /** Bytes of the new blob written so far; live while converting. */
  readonly written: number;
  /** The blob the manifest lists now: for done, reused and kept. */
  readonly result?: string;
  /** Why a layer was kept, or written in another format than asked. */
  readonly reason?: string;
  /** For a shared record: the position of the record that does the work. */
  readonly sharedWith?: number;
}

export type LayerEvent =
  /** Once, after the preflight, before any work: every record, all waiting. */
  | { readonly type: 'plan'; readonly layers: readonly LayerProgress[] }
  /** A record changed state. */
  | { readonly type: 'state'; readonly layer: LayerProgress; readonly previous: LayerState };

export type LayerEventSink = (event: LayerEvent) => void;

/** One layer of the image as the preflight found it. */
export interface LayerSlot {
  digest: string;
  size: number;
  platform: string;
}

/** Something that counts bytes flowing through it (src/stream/digest-tap.ts counters). */
interface Counter {
  readonly size: number;
}

class LayerRecord implements LayerProgress {
  state: LayerState = 'waiting';
  result?: string;
  reason?: string;
  sharedWith?: number;
  private readCounter: Counter | undefined;
  private writeCounter: Counter | undefined;
  private readFinal = 0;
  private writtenFinal = 0;

  constructor(
    readonly position: number,
    readonly digest: string,
    readonly size: number,
    readonly platform: string,
  ) {}

  get read(): number {
    return this.readCounter?.size ?? this.readFinal;
  }

  get written(): number {
    return this.writeCounter?.size ?? this.writtenFinal;
  }

  attach(read: Counter, written: Counter): void {
    this.readCounter = read;
    this.writeCounter = written;
  }

  /** Freezes the counts (the counters belong to a finished job) and drops the references. */
  detach(): void {
    this.readFinal = this.read;
    this.writtenFinal = this.written;
    this.readCounter = undefined;
    this.writeCounter = undefined;
  }
}

export interface Finish {
  result?: string;
  reason?: string;
}

/**
 * The core's side: the layer job says when a digest starts, which counters it reads and writes through, and
 * how it ended; the tracker maps that onto the records of every occurrence of the digest. Without a sink
 * it only keeps the records (a few objects per layer).
 */
export class ProgressTracker {
  private readonly records: LayerRecord[] = [];
  private readonly byDigest = new Map<string, LayerRecord[]>();

  constructor(private readonly sink: LayerEventSink | undefined) {}

  /** Records every layer the preflight found, in the image's order, and announces them. */
  plan(slots: readonly LayerSlot[]): void {
    for (const slot of slots) this.add(slot);
    this.sink?.({ type: 'plan', layers: [...this.records] });
  }

  /** The job for `digest` begins: its first record converts, the others share its work. */
  start(digest: string): void {
    const [first, ...rest] = this.recordsOf(digest);
    if (first === undefined || first.state !== 'waiting') return;
    this.move(first, 'converting');
    for (const r of rest) this.share(r, first);
  }

  /** Points the converting record of `digest` at the counters of its current pass (a fallback starts over). */
  attach(digest: string, read: Counter, written: Counter): void {
    this.recordsOf(digest)[0]?.attach(read, written);
  }

  /** The job for `digest` ended (or was never needed): the first record takes `state`, the rest share it. */
  finish(digest: string, state: 'done' | 'reused' | 'kept', how: Finish = {}): void {
    const [first, ...rest] = this.recordsOf(digest);
    if (first === undefined || FINAL_STATES.has(first.state)) return;
    first.detach();
    if (how.result !== undefined) first.result = how.result;
    if (how.reason !== undefined) first.reason = how.reason;
    this.move(first, state);
    for (const r of rest) this.share(r, first);
  }

  private share(record: LayerRecord, with_: LayerRecord): void {
    if (record.state !== 'waiting') return;
    record.sharedWith = with_.position;
    this.move(record, 'shared');
  }

  private move(record: LayerRecord, state: LayerState): void {
    const previous = record.state;
    record.state = state;
    this.sink?.({ type: 'state', layer: record, previous });
  }

  /** A digest the preflight did not list (it cannot happen on a well-formed walk) gets a record of its own. */
  private recordsOf(digest: string): LayerRecord[] {
    return this.byDigest.get(digest) ?? [this.add({ digest, size: 0, platform: '' })];
  }

  private add(slot: LayerSlot): LayerRecord {
    const record = new LayerRecord(this.records.length + 1, slot.digest, slot.size, slot.platform);
    this.records.push(record);
    const list = this.byDigest.get(slot.digest);
    if (list === undefined) this.byDigest.set(slot.digest, [record]);
    else list.push(record);
    return record;
  }
}
