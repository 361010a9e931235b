// The plain progress view (`--progress plain`, the default when stderr is not a terminal, as in CI logs):
// one log line each time a layer changes state, and a total line at the end, through the CLI's logger, so
// `--log-format json` gives JSON records and `--quiet` silences them like any other info line.

import { FINAL_STATES, type LayerEvent, type LayerProgress } from '../convert/progress.js';
import type { Logger } from '../util/log.js';
import { formatBytes, layerLine, layerName, totalLine, totalsOf } from './progress-text.js';

export class PlainProgress {
  private layers: LayerProgress[] = [];
  /** The same records, for a membership test that stays cheap on images of thousands of layers. */
  private readonly known = new Set<LayerProgress>();
  private readonly startedAt = new Map<LayerProgress, number>();
  private readonly begin: number;
  private stopped = false;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.begin = now();
  }

  readonly sink = (event: LayerEvent): void => {
    if (this.stopped) return;
    if (event.type === 'plan') {
      this.layers = [...event.layers];
      for (const l of event.layers) this.known.add(l);
      const totals = totalsOf(this.layers, 0);
      const count = this.layers.length;
      this.logger.info(
        { layers: count, bytes: totals.toRead },
        `${count} layer${count === 1 ? '' : 's'}, ${formatBytes(totals.toRead)} to read`,
      );
      return;
    }
    const { layer } = event;
    if (!this.known.has(layer)) {
      this.known.add(layer);
      this.layers.push(layer);
    }
    const fields = { layer: layer.digest, state: layer.state, read: layer.read, written: layer.written };
    if (layer.state === 'converting') {
      this.startedAt.set(layer, this.now());
      this.logger.info(
        fields,
        `${layerName(layer, this.layers.length)} converting (${formatBytes(layer.size)})`,
      );
    } else if (FINAL_STATES.has(layer.state)) {
      this.logger.info(fields, layerLine(layer, this.layers.length, this.startedAt.get(layer), this.now()));
    }
  };

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.layers.length === 0) return;
    const totals = totalsOf(this.layers, this.now() - this.begin);
    this.logger.info({ ...totals }, totalLine(totals, true));
  }
}
