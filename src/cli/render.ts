// What `image convert` prints on stdout: the new digest (nerdctl's default), or with --format json
// nerdctl's {"Image","ExtraImages"} object (4-space indent) plus a Layers array saying what happened to
// each source layer.

import type { ConvertResult } from '../convert/options.js';
import { escapeJsonForTerminal } from './escape.js';

export function renderResult(result: ConvertResult, format: 'text' | 'json'): string {
  if (format !== 'json') return `${result.digest}\n`;
  const out = {
    Image: `${result.name}@${result.digest}`,
    ExtraImages: null,
    Layers: result.layers.map((l) => ({
      Source: l.source,
      Result: l.result,
      MediaType: l.mediaType,
      Format: l.format,
      Converted: l.outcome === 'converted',
      ...(l.reused === true ? { Reused: true } : {}),
      ...(l.reason === undefined ? {} : { Reason: l.reason }),
    })),
  };
  return `${escapeJsonForTerminal(JSON.stringify(out, null, 4))}\n`;
}
