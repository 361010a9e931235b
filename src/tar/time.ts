// Tar timestamps with nanosecond precision, as Go's time.Unix(sec, nsec) holds them, and their RFC 3339
// form as Go's time.Format(time.RFC3339Nano) prints them in UTC (fraction truncated to at most 9 digits,
// trailing zeros trimmed, no fraction when it is zero). PAX time values are parsed like Go's archive/tar.

import { parseDecimalInt64 } from './numbers.js';

/** A point in time: whole seconds since the Unix epoch (any int64) plus 0 ≤ nsec < 1e9. */
export interface TarTime {
  readonly sec: bigint;
  readonly nsec: number;
}

const NANOS_PER_SECOND = 1_000_000_000;
const SECONDS_PER_DAY = 86_400n;

/** Go's zero time.Time (January 1, year 1, UTC) in Unix seconds; containers/storage omits such times. */
export const GO_ZERO_TIME_SECONDS = -62_135_596_800n;

/** Like Go's time.Unix: carries a nanosecond value outside [0, 1e9) into the seconds. */
export function unixTime(sec: bigint, nsec = 0): TarTime {
  if (nsec >= 0 && nsec < NANOS_PER_SECOND) return { sec, nsec };
  const carry = Math.floor(nsec / NANOS_PER_SECOND);
  return { sec: sec + BigInt(carry), nsec: nsec - carry * NANOS_PER_SECOND };
}

/** Go's archive/tar parsePAXTime: "[-]secs[.digits]", fraction right-padded or truncated to 9 digits. */
export function parsePaxTime(value: Uint8Array): TarTime | undefined {
  const dot = value.indexOf(0x2e);
  const secPart = dot < 0 ? value : value.subarray(0, dot);
  const fracPart = dot < 0 ? value.subarray(0, 0) : value.subarray(dot + 1);
  const sec = parseDecimalInt64(secPart);
  if (sec === undefined) return undefined;
  if (fracPart.length === 0) return { sec, nsec: 0 };
  let nsec = 0;
  for (let i = 0; i < fracPart.length; i++) {
    const c = fracPart[i] ?? 0;
    if (c < 0x30 || c > 0x39) return undefined;
    if (i < 9) nsec = nsec * 10 + (c - 0x30);
  }
  for (let i = fracPart.length; i < 9; i++) nsec *= 10;
  return unixTime(sec, secPart[0] === 0x2d && nsec !== 0 ? -nsec : nsec);
}

interface Civil {
  year: number;
  month: number;
  day: number;
  secondOfDay: number;
}

/** Proleptic Gregorian calendar date in UTC (days-to-civil in the style of H. Hinnant's algorithms). */
function toCivil(sec: bigint): Civil {
  let days = sec / SECONDS_PER_DAY;
  let rem = sec % SECONDS_PER_DAY;
  if (rem < 0n) {
    rem += SECONDS_PER_DAY;
    days -= 1n;
  }
  const z = Number(days) + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day, secondOfDay: Number(rem) };
}

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds (both edges pinned by the time tests). */
const FIRST_RFC3339_SECOND = -62_167_219_200n;
const LAST_RFC3339_SECOND = 253_402_300_799n;

/** True when `t` falls in the years 0000–9999 (UTC), the range RFC 3339 and Go's JSON encoding accept. */
export function isRfc3339Representable(t: TarTime): boolean {
  return t.sec >= FIRST_RFC3339_SECOND && t.sec <= LAST_RFC3339_SECOND;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function formatYear(year: number): string {
  return year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
}

/**
 * RFC 3339 in UTC with Go's RFC3339Nano fraction rules: e.g. `2023-11-14T22:13:20.5Z`,
 * `1969-12-31T23:59:59.999999999Z`. Years outside 0000–9999 are printed the way Go's Format prints them
 * (`-0001`, `10000`) though they are not valid RFC 3339; check {@link isRfc3339Representable} first.
 */
export function formatRfc3339(t: TarTime): string {
  // Files of a layer often share their times: the last one formatted is kept.
  if (t.sec === last.sec && t.nsec === last.nsec) return last.text;
  const text = format(t);
  last = { sec: t.sec, nsec: t.nsec, text };
  return text;
}

let last = { sec: 0n, nsec: -1, text: '' };

function format(t: TarTime): string {
  const c = toCivil(t.sec);
  const hh = Math.floor(c.secondOfDay / 3600);
  const mm = Math.floor((c.secondOfDay % 3600) / 60);
  const ss = c.secondOfDay % 60;
  let frac = '';
  if (t.nsec !== 0) frac = '.' + pad(t.nsec, 9).replace(/0+$/, '');
  return `${formatYear(c.year)}-${pad(c.month, 2)}-${pad(c.day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${frac}Z`;
}
