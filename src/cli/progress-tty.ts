// The terminal progress view (`--progress tty`, the default when stderr is a terminal): a block at the
// bottom of stderr with one line per converting layer and a total line, redrawn in place at most every
// 100 ms by a timer (the converter only flips states and bumps counters it has anyway). A layer that
// reaches a final state, and every log line, is printed once above the block and stays in the scrollback.
// Drawing is log-update's: it rewrites only the lines that changed and wraps to the terminal's width.

import { createLogUpdate } from 'log-update';
import { FINAL_STATES, type LayerEvent, type LayerProgress } from '../convert/progress.js';
import { layerLine, totalLine, totalsOf } from './progress-text.js';

/** At most ten drawings a second. */
export const REDRAW_MS = 100;

export interface TtyStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export class TtyProgress {
  private readonly draw: ReturnType<typeof createLogUpdate>;
  private layers: LayerProgress[] = [];
  /** The same records, for a membership test that stays cheap on images of thousands of layers. */
  private readonly known = new Set<LayerProgress>();
  private readonly startedAt = new Map<LayerProgress, number>();
  private readonly begin: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly stream: TtyStream,
    private readonly now: () => number = Date.now,
  ) {
    // The cursor stays visible: hiding it makes log-update hook SIGINT/SIGTERM to show it again, and
    // those signals are the entry point's alone (src/bin/tsconvert.ts).
    // A terminal that reports no size (0 columns, as under `script` or a serial console) counts as 80x24.
    const sized = {
      write: (text: string) => stream.write(text),
      isTTY: stream.isTTY === true,
      get columns(): number {
        return stream.columns || 80;
      },
      get rows(): number {
        return stream.rows || 24;
      },
    };
    this.draw = createLogUpdate(sized as unknown as NodeJS.WritableStream, { showCursor: true });
    this.begin = now();
  }

  /** The converter's event sink (ConvertOptions.onLayerEvent). */
  readonly sink = (event: LayerEvent): void => {
    if (this.stopped) return;
    if (event.type === 'plan') {
      this.layers = [...event.layers];
      for (const l of event.layers) this.known.add(l);
      this.timer ??= setInterval(() => this.redraw(), REDRAW_MS);
      this.timer.unref();
      return;
    }
    const { layer } = event;
    if (!this.known.has(layer)) {
      this.known.add(layer);
      this.layers.push(layer);
    }
    if (layer.state === 'converting') this.startedAt.set(layer, this.now());
    if (FINAL_STATES.has(layer.state)) {
      this.draw.persist(this.line(layer));
      this.startedAt.delete(layer);
    }
  };

  /** A log line: printed above the block (which the next tick draws again). */
  write(text: string): void {
    if (this.stopped) this.stream.write(text);
    else this.draw.persist(text.endsWith('\n') ? text.slice(0, -1) : text);
  }

  /** Stops drawing and leaves the final total line (when the run got as far as a plan). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.draw.clear();
    if (this.layers.length > 0)
      this.stream.write(`${totalLine(totalsOf(this.layers, this.now() - this.begin), true)}\n`);
    this.draw.done();
  }

  private line(layer: LayerProgress): string {
    return layerLine(layer, this.layers.length, this.startedAt.get(layer), this.now());
  }

  private redraw(): void {
    const now = this.now();
    const running = this.layers.filter((l) => l.state === 'converting').map((l) => this.line(l));
    this.draw([...running, totalLine(totalsOf(this.layers, now - this.begin))].join('\n'));
  }
}
