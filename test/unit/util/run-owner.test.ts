import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { currentOwner, formatOwner, ownerState, parseOwner } from '../../../src/util/run-owner.js';

describe('run owner', () => {
  it('round-trips through its token, host names with dashes included', () => {
    const owner = {
      host: 'ci-runner-7.example',
      pidNamespace: '4026531836',
      pid: 42,
      start: '123456',
      boot: 'abcdef01',
    };
    expect(parseOwner(formatOwner(owner))).toEqual(owner);
    expect(parseOwner('not-an-owner')).toBeUndefined();
  });

  it('sees this process as alive, with a start time and boot id read from /proc', () => {
    const me = currentOwner();
    expect(me.start).toMatch(/^\d+$/);
    expect(me.boot).toMatch(/^[0-9a-f]{32}$/);
    expect(ownerState(me)).toBe('alive');
  });

  it('sees a killed process as dead, and a live one as alive', async () => {
    const child = spawn('sleep', ['30']);
    await once(child, 'spawn');
    const me = currentOwner();
    const stat = (await import('node:fs')).readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    const owner = { ...me, pid: child.pid!, start };
    expect(ownerState(owner)).toBe('alive');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(ownerState(owner)).toBe('dead');
  });

  it('sees a reused PID (same PID, other start time) and another boot as dead', () => {
    const me = currentOwner();
    expect(ownerState({ ...me, start: String(Number(me.start) + 1) })).toBe('dead');
    expect(ownerState({ ...me, boot: '0'.repeat(32) })).toBe('dead');
  });

  it('never calls an owner on another host or PID namespace dead', () => {
    const me = currentOwner();
    expect(ownerState({ ...me, host: 'elsewhere', pid: 999_999_999 })).toBe('unknown');
    expect(ownerState({ ...me, pidNamespace: '1', pid: 999_999_999 })).toBe('unknown');
  });
});
