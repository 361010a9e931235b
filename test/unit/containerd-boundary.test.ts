// The containerd adapter's pure edges: address parsing, namespace validation with containerd's wording,
// and the gRPC status → TsconvertError mapping (daemon UNAVAILABLE vs a dead transport, cancellation).
import { describe, expect, it } from 'vitest';
import { parseAddress, validateNamespace } from '../../src/containerd/address.js';
import { fromGrpcError } from '../../src/containerd/errors.js';
import { TsconvertError } from '../../src/errors.js';

/** What grpc-js rejects with: an Error carrying the numeric status code and the server's details. */
function serviceError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} SOMETHING: ${details}`), { code, details, metadata: {} });
}

const ctx = { address: '/run/containerd/containerd.sock' };

describe('parseAddress', () => {
  it('accepts a path and a unix:// URL', () => {
    expect(parseAddress('/run/c.sock')).toEqual({
      original: '/run/c.sock',
      socketPath: '/run/c.sock',
      target: 'unix:///run/c.sock',
    });
    expect(parseAddress('unix:///run/c.sock').socketPath).toBe('/run/c.sock');
  });

  it.each(['tcp://1.2.3.4:5', 'http://x', 'npipe:////./pipe/containerd', 'relative.sock', 'unix://relative'])(
    'rejects %s',
    (address) => {
      expect(() => parseAddress(address)).toThrow(`invalid address "${address}"`);
    },
  );
});

describe('validateNamespace', () => {
  it.each(['default', 'k8s.io', 'a-b_c.d', 'x1'])('accepts %s', (ns) => {
    expect(() => validateNamespace(ns)).not.toThrow();
  });

  it.each(['bad/ns', '-lead', 'trail.', 'a..b', 'spa ce'])('rejects %s with the daemon wording', (ns) => {
    expect(() => validateNamespace(ns)).toThrow(
      `namespace validation: identifier "${ns}" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$`,
    );
  });

  it('rejects an over-long namespace', () => {
    expect(() => validateNamespace('a'.repeat(77))).toThrow(/greater than maximum length \(76 characters\)/);
  });
});

describe('fromGrpcError', () => {
  it.each([
    [5, 'NOT_FOUND'],
    [6, 'ALREADY_EXISTS'],
    [3, 'INVALID_ARGUMENT'],
    [9, 'FAILED_PRECONDITION'],
    [11, 'OUT_OF_RANGE'],
    [12, 'UNIMPLEMENTED'],
    [2, 'INTERNAL'],
  ])('maps status %i to %s keeping the daemon message and the cause', (code, mapped) => {
    const err = serviceError(code, 'content sha256:abc: something');
    const out = fromGrpcError(err, ctx) as TsconvertError;
    expect(out).toBeInstanceOf(TsconvertError);
    expect(out.code).toBe(mapped);
    expect(out.message).toBe('content sha256:abc: something');
    expect(out.cause).toBe(err);
  });

  it('keeps a locked ref as UNAVAILABLE but turns a dead transport into CONNECTION', () => {
    const locked = fromGrpcError(
      serviceError(14, 'ref default/1/x locked for 1s (since …): unavailable'),
      ctx,
    );
    expect(locked).toMatchObject({ code: 'UNAVAILABLE' });
    const dead = fromGrpcError(serviceError(14, 'No connection established. Last error: ECONNREFUSED'), ctx);
    expect(dead).toMatchObject({
      code: 'CONNECTION',
      message:
        'containerd at /run/containerd/containerd.sock stopped answering: No connection established. Last error: ECONNREFUSED',
    });
  });

  it('turns anything after our abort into the signal’s CANCELLED error', () => {
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    const out = fromGrpcError(serviceError(1, 'Cancelled on client'), { ...ctx, signal: ac.signal });
    expect(out).toMatchObject({ code: 'CANCELLED', message: 'interrupted' });
    expect(fromGrpcError(serviceError(1, 'Cancelled on client'), ctx)).toMatchObject({ code: 'CANCELLED' });
  });

  it('passes TsconvertErrors and foreign errors through', () => {
    const own = new TsconvertError('MALFORMED', 'x');
    expect(fromGrpcError(own, ctx)).toBe(own);
    const foreign = new RangeError('y');
    expect(fromGrpcError(foreign, ctx)).toBe(foreign);
  });
});
