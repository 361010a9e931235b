// Lays frames out in shared-memory slots, sends full slots to the compression pool, and hands back the
// compressed frames strictly in input order, telling each frame's owner where it landed in the blob. A
// layer uses at most `slotCount` slots: the first paid for by its layer job (the format's startMemory),
// each further one drawn from the run's memory budget when it has room at once. A layer that gets no more
// works with the slots it has, waiting for its own batches, never for the budget; so memory is bounded
// whatever the layer's size, the CPU count or the number of layers at once.

import type { MemoryBudget } from '../../util/memory-budget.js';
import {
  createSlot,
  outputCapacity,
  type CompressPool,
  type FrameOut,
  type FrameSpec,
  type Slot,
} from '../../zstd/compress-pool.js';

/** Told where a frame landed: its blob offset, compressed size and (when asked) input sha256. */
export type Landed =
  | ((offset: number, size: number, sha256: string | undefined, crc64: Uint8Array | undefined) => void)
  | undefined;

/** A slot sent to the pool is closed once it holds this many frames, whatever its fill. */
const MAX_FRAMES_PER_SLOT = 512;

/** Memory of one slot taking `inputBytes` of frame input: the input and its output room. */
export function slotMemory(inputBytes: number, frames = MAX_FRAMES_PER_SLOT): number {
  return inputBytes + outputCapacity(inputBytes, frames);
}

interface Filling {
  slot: Slot;
  fill: number;
  frames: FrameSpec[];
  landed: Landed[];
  /** A one-off slot for a frame larger than the regular ones; not reused. */
  oneOff: boolean;
}

interface InFlight extends Filling {
  result: Promise<FrameOut[]>;
}

export class FrameBatcher {
  private readonly free: Slot[] = [];
  private created = 0;
  private current: Filling | undefined;
  private readonly inFlight: InFlight[] = [];
  /** Batches whose output the consumer holds now (handed out by drain, not yet given back). */
  private readonly lent: InFlight[] = [];
  /** Bytes of compressed frames handed out so far: the next frame's blob offset. */
  offset = 0;

  constructor(
    private readonly pool: CompressPool,
    private readonly level: number,
    private readonly slotBytes: number,
    private readonly slotCount: number,
    private readonly budget: MemoryBudget,
  ) {}

  /**
   * Makes room for `n` contiguous bytes without waiting, when it can: true when the current slot has room
   * or a slot is free. The common case, so callers need no generator for it.
   */
  tryReserve(n: number): boolean {
    const cur = this.current;
    if (cur !== undefined && cur.slot.input.length - cur.fill >= n && cur.frames.length < MAX_FRAMES_PER_SLOT)
      return true;
    if (n > this.slotBytes) {
      this.send();
      // A frame larger than a slot (a member header of several MiB) cannot wait: it is counted as it is.
      this.budget.overdraw(slotMemory(n, 1));
      this.current = { slot: createSlot(n, 1), fill: 0, frames: [], landed: [], oneOff: true };
      return true;
    }
    const slot = this.free.pop() ?? this.grow();
    if (slot === undefined) return false;
    this.send();
    this.current = { slot, fill: 0, frames: [], landed: [], oneOff: false };
    return true;
  }

  /** Makes room for `n` contiguous bytes in the current slot; yields frames drained while waiting. */
  async *reserve(n: number): AsyncGenerator<Uint8Array> {
    if (this.tryReserve(n)) return;
    this.send();
    let slot = this.free.pop() ?? this.grow();
    // Every slot this layer has is in flight (the first one always exists once asked for).
    while (slot === undefined) {
      yield* this.drain(this.inFlight.length - 1);
      slot = this.free.pop() ?? this.grow();
    }
    this.current = { slot, fill: 0, frames: [], landed: [], oneOff: false };
  }

  /** Appends bytes to the current slot (after `reserve` made room for them). */
  write(bytes: Uint8Array): void {
    const cur = this.current as Filling;
    cur.slot.input.set(bytes, cur.fill);
    cur.fill += bytes.length;
  }

  /** Position of the next byte in the current slot, to mark where a frame starts. */
  get position(): number {
    return this.current?.fill ?? 0;
  }

  /** Ends a frame that started at `start` in the current slot. */
  endFrame(start: number, checksums: boolean, landed: Landed): void {
    const cur = this.current as Filling;
    cur.frames.push({ offset: start, length: cur.fill - start, checksums });
    cur.landed.push(landed);
  }

  /** Sends the current slot to the pool (if it holds any frame). */
  send(): void {
    const cur = this.current;
    this.current = undefined;
    if (cur === undefined) return;
    if (cur.frames.length === 0) {
      if (!cur.oneOff) this.free.push(cur.slot);
      return;
    }
    const result = this.pool.compress(cur.slot, cur.frames, this.level);
    // A failed pool rejects queued batches at once, long before drain() awaits them: without a handler now,
    // Node would end the process on an unhandled rejection instead of the layer failing with that error.
    result.catch(() => {});
    this.inFlight.push({ ...cur, result });
  }

  /**
   * Hands out compressed frames in order until at most `limit` slots remain in flight. Each piece is a view
   * of a slot's output area, valid until the next piece is asked for: only then is the slot reused (a copy
   * per batch was ~400 MB of fresh buffers per bench run, and V8 runs a full collection per ~25 MB of them).
   */
  async *drain(limit: number): AsyncGenerator<Uint8Array> {
    while (this.inFlight.length > Math.max(0, limit)) {
      const batch = this.inFlight.shift() as InFlight;
      const results = await batch.result;
      let end = 0;
      for (let i = 0; i < results.length; i++) {
        const r = results[i] as FrameOut;
        batch.landed[i]?.(this.offset, r.length, r.sha256, r.crc64);
        this.offset += r.length;
        end = r.offset + r.length;
      }
      // The frames lie back to back in the output area: one view hands them all out.
      this.lent.push(batch);
      yield batch.slot.output.subarray(0, end);
      this.lent.splice(this.lent.indexOf(batch), 1);
      if (batch.oneOff) this.budget.release(slotMemory(batch.slot.input.length, 1));
      else this.free.push(batch.slot);
    }
  }

  /** The layer is done (or abandoned): stops waiting for results and gives its memory back. */
  close(): void {
    for (const b of [...this.inFlight, ...this.lent]) {
      b.result.catch(() => {});
      if (b.oneOff) this.budget.release(slotMemory(b.slot.input.length, 1));
    }
    this.lent.length = 0;
    if (this.current?.oneOff === true) this.budget.release(slotMemory(this.current.slot.input.length, 1));
    this.budget.release(Math.max(0, this.created - 1) * this.slotMemory);
    // Slots in flight may still be written by a worker of an abandoned batch: only free ones go back.
    for (const slot of this.free) this.pool.giveBackSlot(slot);
    this.created = 0;
    this.free.length = 0;
    this.inFlight.length = 0;
    this.current = undefined;
  }

  private get slotMemory(): number {
    return slotMemory(this.slotBytes);
  }

  /** A new slot: the first (paid for by the layer job), or another when the budget has room for it now. */
  private grow(): Slot | undefined {
    if (this.created === 0) return this.newSlot();
    if (this.created >= this.slotCount || !this.budget.tryAcquire(this.slotMemory, true)) return undefined;
    return this.newSlot();
  }

  private newSlot(): Slot {
    this.created += 1;
    return this.pool.takeSlot(this.slotBytes, MAX_FRAMES_PER_SLOT);
  }
}
