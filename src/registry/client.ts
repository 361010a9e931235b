// The HTTP side of one registry: an undici Agent (TLS verified unless --*-tls-verify=false; extra CAs and a
// client certificate from a cert dir), the scheme (https, or plain http when verification is off and the
// registry does not speak TLS, as skopeo does), authentication (auth.ts), redirects for blob reads, and
// retries with backoff on 429, 5xx and dropped connections. Every request is bounded by the run's signal.

import { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { abortError, TsconvertError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { basicHeader, isFresh, parseChallenge, tokenFrom, type Challenge, type Token } from './auth.js';
import type { Credentials } from './credentials.js';
import { certFiles } from './cert-dir.js';
import { isTlsError, statusError, transportError, type Side } from './errors.js';
import { bodyText, type Response } from './response-body.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RegistryCall {
  method: Method;
  /** A path on the registry (/v2/…), or an absolute URL it gave (an upload's Location). */
  path: string;
  /** Token scopes the call needs, e.g. ['repository:app:pull,push']. */
  scopes: readonly string[];
  headers?: Record<string, string>;
  body?: Buffer;
  /** What the call does, for messages ("reading blob sha256:…"). */
  what: string;
  signal: AbortSignal;
  /** Whether a failed attempt may be sent again (default true; every body here is a Buffer). */
  retry?: boolean;
}

export type { Response };

export interface ClientOptions {
  host: string;
  apiHost: string;
  side: Side;
  credentials: Credentials | undefined;
  tlsVerify: boolean;
  /** --*-cert-dir; else /etc/containers/certs.d/HOST and /etc/docker/certs.d/HOST when present. */
  certDir: string | undefined;
  logger: Logger;
  /** How long the registry may take to answer, or to send the next bytes of a body (--timeout). */
  timeoutMs?: number;
  /** Attempts per request before a 429/5xx/dropped connection is final. */
  attempts?: number;
  /** First backoff delay (doubles each attempt). */
  backoffMs?: number;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const MAX_BACKOFF_MS = 10_000;
const MAX_REDIRECTS = 5;

export class RegistryClient {
  readonly host: string;
  readonly side: Side;
  readonly #options: ClientOptions;
  #agent: Agent | undefined;
  #origin: string | undefined;
  #challenge: Challenge | undefined;
  readonly #tokens = new Map<string, Promise<Token>>();

  constructor(options: ClientOptions) {
    this.#options = options;
    this.host = options.host;
    this.side = options.side;
  }

  get authenticated(): boolean {
    return this.#options.credentials !== undefined;
  }

  /** Builds the agent and finds the scheme and auth challenge with GET /v2/. */
  async connect(signal: AbortSignal): Promise<void> {
    const { apiHost, tlsVerify, certDir } = this.#options;
    const dirs =
      certDir !== undefined
        ? [certDir]
        : [`/etc/containers/certs.d/${apiHost}`, `/etc/docker/certs.d/${apiHost}`];
    const files = await certFiles(dirs);
    const connect = {
      rejectUnauthorized: tlsVerify,
      ...(files.ca.length > 0 ? { ca: [...rootCertificates, ...files.ca] } : {}),
      ...(files.cert !== undefined && files.key !== undefined ? { cert: files.cert, key: files.key } : {}),
    };
    const timeout = this.#options.timeoutMs;
    this.#agent = new Agent({
      connect,
      connections: 16,
      ...(timeout === undefined ? {} : { headersTimeout: timeout, bodyTimeout: timeout }),
    });
    const what = 'while connecting (GET /v2/)';
    try {
      this.#origin = `https://${apiHost}`;
      await this.#ping(signal);
    } catch (err) {
      // With verification off a registry may speak plain HTTP (skopeo tries that next); never with it on.
      if (tlsVerify || signal.aborted || !(isTlsError(err) || isProtocolMismatch(err))) {
        throw transportError(err, this.host, this.side, what);
      }
      this.#options.logger.debug({ registry: this.host }, 'no TLS; using plain HTTP');
      this.#origin = `http://${apiHost}`;
      await this.#ping(signal).catch((e: unknown) => {
        throw transportError(e, this.host, this.side, what);
      });
    }
  }

  async #ping(signal: AbortSignal): Promise<void> {
    const res = await this.#raw({ method: 'GET', path: '/v2/', scopes: [], what: 'ping', signal }, {});
    await res.body.dump();
    if (res.statusCode === 401) this.#challenge = parseChallenge(res.headers['www-authenticate']);
    else if (res.statusCode !== 200) {
      throw new TsconvertError(
        'CONNECTION',
        `registry ${this.host} answered GET /v2/ with HTTP ${res.statusCode}`,
        {
          hint: 'check that the docker:// reference names a container registry (OCI distribution API)',
        },
      );
    }
    // Credentials for a registry that asked for none are still sent as Basic over TLS, as clients do.
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }

  #url(path: string): URL {
    return new URL(path, this.#origin);
  }

  async #raw(
    call: RegistryCall,
    headers: Record<string, string>,
    url = this.#url(call.path),
  ): Promise<Response> {
    if (this.#agent === undefined)
      throw new TsconvertError('INTERNAL', 'registry client used before connect()');
    return this.#agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: call.method,
      headers: { 'user-agent': 'tsconvert', ...call.headers, ...headers },
      body: call.body,
      signal: call.signal,
    });
  }

  async #authHeaders(
    scopes: readonly string[],
    signal: AbortSignal,
    forceNew: boolean,
  ): Promise<Record<string, string>> {
    const challenge = this.#challenge;
    const creds = this.#options.credentials;
    if (challenge === undefined) {
      return creds !== undefined && this.#origin?.startsWith('https:')
        ? { authorization: basicHeader(creds) }
        : {};
    }
    if (challenge.scheme === 'basic') return creds === undefined ? {} : { authorization: basicHeader(creds) };
    const key = [...scopes].sort().join(' ');
    const cached = this.#tokens.get(key);
    if (!forceNew && cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && isFresh(token, Date.now()))
        return { authorization: `Bearer ${token.value}` };
    }
    const pending = this.#fetchToken(challenge, scopes, signal);
    this.#tokens.set(key, pending);
    pending.catch(() => this.#tokens.delete(key));
    return { authorization: `Bearer ${(await pending).value}` };
  }

  async #fetchToken(challenge: Challenge, scopes: readonly string[], signal: AbortSignal): Promise<Token> {
    const realm = challenge.params.realm;
    const what = `fetching a token for ${scopes.join(' ') || 'the registry'}`;
    if (realm === undefined)
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `registry ${this.host} asked for a bearer token without naming a realm`,
      );
    const url = new URL(realm);
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const creds = this.#options.credentials;
    const call: RegistryCall = { method: 'GET', path: url.href, scopes: [], what, signal };
    const res = await this.#withRetries(call, () =>
      this.#raw(call, creds === undefined ? {} : { authorization: basicHeader(creds) }, url),
    );
    const text = await bodyText(res, 1 << 20);
    if (res.statusCode !== 200) {
      throw statusError(res.statusCode, text, {
        host: this.host,
        repository: scopes.join(' '),
        side: this.side,
        what: `(token server ${url.origin}) ${what}`,
        authenticated: this.authenticated,
      });
    }
    let token: Token | undefined;
    try {
      token = tokenFrom(JSON.parse(text), Date.now());
    } catch {
      token = undefined;
    }
    if (token === undefined)
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `token server ${url.origin} of registry ${this.host} gave no token ${what}`,
      );
    return token;
  }

  /** Sends `send()` again on 429/5xx and dropped connections, with backoff, until it succeeds or attempts run out. */
  async #withRetries(call: RegistryCall, send: () => Promise<Response>): Promise<Response> {
    const attempts = call.retry === false ? 1 : (this.#options.attempts ?? 5);
    let delay = this.#options.backoffMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await send();
      } catch (err) {
        if (call.signal.aborted) throw abortError(call.signal);
        failure = err;
      }
      const retryable = res === undefined ? isRetryableError(failure) : RETRY_STATUS.has(res.statusCode);
      if (!retryable || attempt >= attempts) {
        if (res !== undefined) return res;
        throw transportError(failure, this.host, this.side, call.what);
      }
      const after = res === undefined ? undefined : retryAfterMs(res.headers['retry-after']);
      if (res !== undefined) await res.body.dump().catch(() => undefined);
      const wait = Math.min(after ?? delay, MAX_BACKOFF_MS);
      this.#options.logger.debug(
        { registry: this.host, attempt, status: res?.statusCode, wait },
        `retrying ${call.what}`,
      );
      await sleep(wait, undefined, { signal: call.signal }).catch(() => {
        throw abortError(call.signal);
      });
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  }

  /**
   * Sends a call with authentication and retries, following redirects of GET/HEAD (without credentials to
   * another origin). A 401 to a bearer token fetches a fresh one and sends once more.
   */
  async send(call: RegistryCall): Promise<Response> {
    let fresh = false;
    for (;;) {
      const auth = await this.#authHeaders(call.scopes, call.signal, fresh);
      let res = await this.#withRetries(call, () => this.#raw(call, auth));
      if (res.statusCode === 401 && !fresh && this.#challenge === undefined) {
        // The registry asked for credentials only now (anonymous ping, protected repository).
        this.#challenge = parseChallenge(res.headers['www-authenticate']);
        if (this.#challenge !== undefined) {
          await res.body.dump();
          fresh = true;
          continue;
        }
      }
      if (res.statusCode === 401 && !fresh && this.#challenge?.scheme === 'bearer') {
        await res.body.dump();
        fresh = true;
        continue;
      }
      for (
        let hops = 0;
        isRedirect(res.statusCode) && (call.method === 'GET' || call.method === 'HEAD');
        hops++
      ) {
        const location = res.headers.location;
        await res.body.dump();
        if (typeof location !== 'string' || hops >= MAX_REDIRECTS) {
          throw new TsconvertError(
            'FAILED_PRECONDITION',
            `registry ${this.host} redirected ${call.what} without a usable Location`,
          );
        }
        const url = new URL(location, this.#url(call.path));
        const same = url.origin === this.#url(call.path).origin;
        res = await this.#withRetries(call, () => this.#raw(call, same ? auth : {}, url));
      }
      return res;
    }
  }

  /** send(), then an error (statusError) unless the status is one of `ok`; the caller consumes the body. */
  async expect(call: RegistryCall, ok: readonly number[], repository: string): Promise<Response> {
    const res = await this.send(call);
    if (ok.includes(res.statusCode)) return res;
    throw await this.failure(res, call, repository);
  }

  /** The error for an answer a call did not want; reads (a bounded part of) and discards its body. */
  async failure(res: Response, call: RegistryCall, repository: string): Promise<TsconvertError> {
    const text = call.method === 'HEAD' ? '' : await bodyText(res);
    if (call.method === 'HEAD') await res.body.dump();
    return statusError(res.statusCode, text, {
      host: this.host,
      repository,
      side: this.side,
      what: call.what,
      authenticated: this.authenticated,
    });
  }
}

const isRedirect = (status: number): boolean => [301, 302, 303, 307, 308].includes(status);

/** A plain-HTTP server answering a TLS hello closes or says garbage: the cue to try http://. */
function isProtocolMismatch(err: unknown): boolean {
  const text = String((err as Error | undefined)?.message ?? err);
  return /wrong version number|packet length too long|ECONNRESET|socket hang up|other side closed/i.test(
    text,
  );
}

function isRetryableError(err: unknown): boolean {
  if (err instanceof TsconvertError || isTlsError(err)) return false;
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  // A refused connection is retried too: a registry restarting comes back within the backoff.
  return /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CONNECT_TIMEOUT)$/.test(
    code,
  );
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
