// Registry authentication as the distribution API's clients do it: a 401 answer's WWW-Authenticate header
// names the scheme. Basic sends the credentials on every request; Bearer fetches a token from the realm
// (GET REALM?service=S&scope=repository:REPO:pull,push, with the credentials as Basic when there are any)
// and sends that. Tokens are kept per scope set and fetched again shortly before they expire, or when the
// registry answers 401 to one it has accepted before.

import type { Credentials } from './credentials.js';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`); undefined for other schemes. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (text === undefined) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(text);
  if (m === null) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

export const basicHeader = (c: Credentials): string =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** Seconds a token lives when the token server does not say (the token specification's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** A token this close to its expiry is fetched again before use. */
const REFRESH_MARGIN_MS = 10_000;

export interface Token {
  value: string;
  expiresAt: number;
}

/** The token server's answer, as the token specification describes it. */
export function tokenFrom(body: unknown, now: number): Token | undefined {
  const b = body as { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  const value = typeof b.token === 'string' && b.token !== '' ? b.token : b.access_token;
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : DEFAULT_TOKEN_SECONDS;
  const issued = typeof b.issued_at === 'string' ? Date.parse(b.issued_at) : NaN;
  // The local clock counts from now when the server's issue time is missing or in our future.
  const start = Number.isFinite(issued) && issued <= now ? issued : now;
  return { value, expiresAt: start + seconds * 1000 };
}

export const isFresh = (t: Token, now: number): boolean => t.expiresAt - REFRESH_MARGIN_MS > now;
