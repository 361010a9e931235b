// Test helper: compares a scan with what vbatts/tar-split's archive/tar (the Go oracle in ../oracle)
// reports for the same bytes: every header's values, the raw bytes it consumed, and how the archive ends.

import { expect } from 'vitest';
import { formatRfc3339, GO_ZERO_TIME_SECONDS } from '../../../../src/tar/index.js';
import type { TarTime } from '../../../../src/tar/index.js';
import type { ScanResult, ScannedMember } from '../../../helpers/tar/collect.js';
import { runOracle, type OracleRecord } from './tools.js';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
// the oracle prints Go's zero time (IsZero) as ''
const goTime = (t: TarTime | undefined): string =>
  t && !(t.sec === GO_ZERO_TIME_SECONDS && t.nsec === 0) ? `${t.sec}.${t.nsec} ${formatRfc3339(t)}` : '';

/** True when tar-split's reader rejects `tar`. */
export function tarSplitRejects(tar: Uint8Array): boolean {
  return runOracle(tar).some((r) => r.error !== undefined || r.payloadError !== undefined);
}

export function compareWithGo(tar: Uint8Array, r: ScanResult): void {
  const records = runOracle(tar);
  const end = records.at(-1) as OracleRecord;
  expect(end.error).toBeUndefined();
  const headers = records.slice(0, -1);
  expect(r.members.length).toBe(headers.length);
  let previousPadding: Buffer = Buffer.alloc(0);
  headers.forEach((g, i) => {
    const m = (r.members[i] as ScannedMember).member;
    const s = r.members[i] as ScannedMember;
    expect(b64(Buffer.concat([previousPadding, s.header])), `raw bytes of ${m.name.text}`).toBe(g.raw);
    expect({
      name: b64(m.name.raw),
      linkname: b64(m.linkname.raw),
      typeflag: m.typeflag,
      mode: String(m.mode),
      uid: String(m.uid),
      gid: String(m.gid),
      size: String(m.size),
      uname: b64(m.uname.raw),
      gname: b64(m.gname.raw),
      devmajor: String(m.devMajor),
      devminor: String(m.devMinor),
      mtime: goTime(m.mtime),
      atime: goTime(m.atime),
      ctime: goTime(m.ctime),
      pax: [...m.pax]
        .map(([k, v]) => [b64(Buffer.from(k, 'latin1')), b64(v)])
        .sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1)),
    }).toEqual({ ...pick(g), pax: g.pax ?? [] });
    if (!m.facts.sparse) {
      expect(s.payload.length).toBe(g.payload);
    }
    previousPadding = s.padding;
  });
  expect(end.end).toBe(true);
  const goTail = Buffer.concat([Buffer.from(end.raw ?? '', 'base64')]);
  const ours = Buffer.concat([previousPadding, r.trailer]);
  if (r.summary.truncatedPadding) {
    // tar-split drops the bytes of a padding cut short by the end of input (it reports a clean end):
    // its tail lacks exactly those, which the scanner keeps so the input is rebuilt exactly
    expect(end.rest).toBe(0);
    expect(ours.length - goTail.length).toBeGreaterThan(0);
    expect(ours.length - goTail.length).toBeLessThan(512);
  } else {
    expect(ours.length).toBe(goTail.length + (end.rest ?? 0));
  }
  expect(ours.subarray(0, goTail.length).equals(goTail)).toBe(true);
}

function pick(g: OracleRecord): Record<string, unknown> {
  const keys = [
    'name',
    'linkname',
    'typeflag',
    'mode',
    'uid',
    'gid',
    'size',
    'uname',
    'gname',
    'devmajor',
    'devminor',
  ];
  return Object.fromEntries([...keys, 'mtime', 'atime', 'ctime'].map((k) => [k, g[k]]));
}
