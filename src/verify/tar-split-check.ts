// The tar-split checked in step with the layer's tar (docs/format.md#tar-split): before each member the
// tar-split's segments must hold exactly the tar's bytes (the last member's padding and this member's
// header blocks), its file line must name the member with its size and the CRC-64 of its payload, and the
// segments after the last member must be the tar's trailer. The tar rebuilt from segments plus payloads
// is hashed as containers/storage does after a partial pull; its digest must be the DiffID.

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { TarMember } from '../tar/index.js';
import { Crc64 } from '../util/crc64.js';
import type { Findings } from './findings.js';
import { FILE, SEGMENT, type TarSplitReader } from './tar-split-lines.js';

export class TarSplitCheck {
  private readonly rebuilt = createHash('sha256');
  private pending: Uint8Array[] = [];
  private crc: Crc64 | undefined;
  private wantCrc: Buffer | null = null;
  private current = '';
  /** Set at the first structural mismatch: later lines no longer line up, so checking stops there. */
  private broken = false;
  private trailerHash = createHash('sha256');
  private inTrailer = false;

  constructor(
    private readonly reader: TarSplitReader,
    private readonly findings: Findings,
  ) {}

  private fail(message: string): void {
    this.findings.fail('tar-split', message);
    this.broken = true;
  }

  /** Padding after a payload: goes with the next segment. */
  padding(bytes: Uint8Array): void {
    if (this.inTrailer) this.trailerHash.update(bytes);
    else this.pending.push(bytes);
  }

  async member(member: TarMember, header: Uint8Array): Promise<void> {
    if (this.broken) return;
    const tarBytes = Buffer.concat([...this.pending, header]);
    this.pending = [];
    const segments: Buffer[] = [];
    for (;;) {
      const line = await this.reader.next();
      if (line === undefined) return this.fail(`ends before member "${member.name.text}"`);
      if (line.type === SEGMENT) {
        segments.push(line.payload ?? Buffer.alloc(0));
        continue;
      }
      if (line.type !== FILE) return this.fail(`line ${line.position} has unknown type ${line.type}`);
      const seg = Buffer.concat(segments);
      this.rebuilt.update(seg);
      if (!seg.equals(tarBytes))
        return this.fail(`the header bytes of "${member.name.text}" differ from the tar's`);
      if (line.name !== member.name.text)
        return this.fail(`file line ${line.position} names "${line.name}", the tar "${member.name.text}"`);
      if (line.size !== Number(member.size))
        return this.fail(`"${member.name.text}": size ${line.size}, tar ${member.size}`);
      this.current = member.name.text;
      this.wantCrc = line.payload;
      this.crc = member.payloadSize > 0 ? new Crc64() : undefined;
      if (member.payloadSize === 0) this.checkCrc();
      return;
    }
  }

  payload(data: Uint8Array): void {
    if (this.broken) return;
    this.rebuilt.update(data);
    this.crc?.update(data);
  }

  /** After a member's last payload byte. */
  endPayload(): void {
    if (!this.broken) this.checkCrc();
  }

  private checkCrc(): void {
    const got = this.crc === undefined ? null : Buffer.from(this.crc.sum());
    const want = this.wantCrc;
    if (got === null && want !== null && !want.equals(Buffer.from(new Crc64().sum())))
      this.fail(`"${this.current}" has no payload but a CRC of one`);
    else if (got !== null && (want === null || !got.equals(want)))
      this.fail(`"${this.current}": CRC-64 of the payload differs from the tar-split's`);
    this.crc = undefined;
  }

  /** Trailer bytes of the tar (the end-of-archive blocks and whatever follows). */
  trailer(data: Uint8Array): void {
    if (!this.inTrailer) {
      this.inTrailer = true;
      for (const p of this.pending) this.trailerHash.update(p);
      this.pending = [];
    }
    this.trailerHash.update(data);
  }

  /** After the tar's end: the remaining segments must be the trailer. Returns the rebuilt tar's digest. */
  async finish(): Promise<string | undefined> {
    if (this.broken) return undefined;
    if (!this.inTrailer) this.trailer(new Uint8Array(0));
    const segments = createHash('sha256');
    for (let line = await this.reader.next(); line !== undefined; line = await this.reader.next()) {
      if (line.type !== SEGMENT) {
        this.fail(`file line "${line.name}" after the tar's last member`);
        return undefined;
      }
      const bytes = line.payload ?? Buffer.alloc(0);
      segments.update(bytes);
      this.rebuilt.update(bytes);
    }
    if (segments.digest('hex') !== this.trailerHash.digest('hex')) {
      this.fail("the segments after the last member differ from the tar's trailer");
      return undefined;
    }
    return `sha256:${this.rebuilt.digest('hex')}`;
  }
}
