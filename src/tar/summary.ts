// Accumulates the archive-level facts of a scan (docs/format.md#fallback-to-plain-zstd) and the trailer
// check: is everything after the last member zero bytes in whole 512-byte blocks?

import { BLOCK_SIZE } from './limits.js';
import type { TarEnding, TarMember, TarSummary } from './types.js';

export class SummaryBuilder {
  private members = 0;
  private paxGlobalHeader = false;
  private gnuSparse = false;
  private invalidUtf8 = false;
  private timeOutOfRange = false;
  private readonly unknownTypeflags: string[] = [];
  private ending: TarEnding = 'none';
  private truncatedPadding = false;
  private trailerOffset = 0;
  private trailerSize = 0;
  private trailerZero = true;

  addMember(m: TarMember): void {
    this.members++;
    this.paxGlobalHeader ||= m.facts.globalHeader;
    this.gnuSparse ||= m.facts.sparse;
    this.invalidUtf8 ||= m.facts.invalidUtf8;
    this.timeOutOfRange ||= m.facts.timeOutOfRange;
    if (m.facts.unknownType && !this.unknownTypeflags.includes(m.typeflag))
      this.unknownTypeflags.push(m.typeflag);
  }

  startTrailer(offset: number, ending: TarEnding, truncatedPadding: boolean): void {
    this.trailerOffset = offset;
    this.ending = ending;
    this.truncatedPadding = truncatedPadding;
  }

  addTrailer(data: Uint8Array): void {
    this.trailerSize += data.length;
    if (!this.trailerZero) return;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 0) {
        this.trailerZero = false;
        return;
      }
    }
  }

  build(size: number): TarSummary {
    return {
      members: this.members,
      size,
      ending: this.ending,
      truncatedPadding: this.truncatedPadding,
      trailerOffset: this.trailerOffset,
      trailerSize: this.trailerSize,
      trailerAllZeroBlocks: this.trailerZero && this.trailerSize % BLOCK_SIZE === 0,
      paxGlobalHeader: this.paxGlobalHeader,
      gnuSparse: this.gnuSparse,
      unknownTypeflags: [...this.unknownTypeflags],
      invalidUtf8: this.invalidUtf8,
      timeOutOfRange: this.timeOutOfRange,
    };
  }
}
