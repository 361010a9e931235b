// The tags a run puts on its leases and ingest refs: a ref made by ownedRef names this run and is unique to
// one writer, and refOwner reads only refs in that form (anything else is not tsconvert's to remove).
import { describe, expect, it } from 'vitest';
import { currentOwner, formatOwner } from '../../../src/util/run-owner.js';
import { ownedRef, ownerToken, refOwner } from '../../../src/util/run-tags.js';

const LAYER =
  'tsconvert-zstdchunked-from-sha256:9720756bfd50fdf73ce71af25a040b0d1d21a0c08765e2aa18c6180071b3f996';

describe('run tags', () => {
  it('an owned ref carries this run and a random suffix, and reads back as this run', () => {
    const a = ownedRef(LAYER);
    const b = ownedRef(LAYER);
    expect(a).not.toBe(b);
    expect(a.startsWith(`${LAYER}@${formatOwner(currentOwner())}-`)).toBe(true);
    expect(refOwner(a)).toEqual(currentOwner());
    expect(ownerToken()).toBe(formatOwner(currentOwner()));
  });

  it('a host name with dashes survives the round trip', () => {
    const owner = { ...currentOwner(), host: 'ci-runner-7.example' };
    const ref = `${LAYER}@${formatOwner(owner)}-0123456789ab`;
    expect(refOwner(ref)).toEqual(owner);
  });

  it('reads nothing from refs that are not in our form', () => {
    const token = formatOwner(currentOwner());
    for (const ref of [
      LAYER,
      `${LAYER}@p6x-abb6daf85464`, // the old "<pid base 36>-<random>" suffix
      `other-tool-${LAYER.slice(10)}@${token}-0123456789ab`, // not ours
      `${LAYER}@${token}`, // no random suffix
      `${LAYER}@${token}-0123456789AB`,
      'shared-ref',
      '',
    ])
      expect(refOwner(ref), ref).toBeUndefined();
  });
});
