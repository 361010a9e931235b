// Who a run is, in a form that fits in file names and labels, and whether a recorded run is still alive.
// A run killed by SIGKILL, the OOM killer or a reboot leaves leases, ingests and temporary files behind; a
// later run may remove them only when it can tell their owner is gone. A PID alone cannot tell: PIDs are
// reused, a socket or a directory may be shared by other hosts or PID namespaces, and the host may have
// rebooted. So the identity is the host name, the PID namespace, the PID, the process's start time (clock
// ticks after boot, field 22 of /proc/PID/stat) and the kernel's boot id. Anything this process cannot check
// (another host, another PID namespace, no /proc) is 'unknown', and unknown owners are never treated as dead.

import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface RunOwner {
  host: string;
  /** Inode of the PID namespace (from /proc/self/ns/pid), '' where it cannot be read. */
  pidNamespace: string;
  pid: number;
  /** Start time in clock ticks after boot, '' where it cannot be read. */
  start: string;
  /** The kernel's boot id without dashes, '' where it cannot be read. */
  boot: string;
}

export type OwnerState = 'alive' | 'dead' | 'unknown';

function readOr(read: () => string, fallback: string): string {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Start time of `pid` from /proc, or undefined when there is no such process (or no /proc). */
function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function bootId(): string {
  return readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', ''), '');
}

function pidNamespace(): string {
  return readOr(() => /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '', '');
}

/** A host name as it stands in a token: letters, digits, '.' and '-'; anything else becomes '_'. */
const tokenHost = (host: string): string => host.replace(/[^A-Za-z0-9.-]/g, '_');

let self: RunOwner | undefined;

/** This process's identity (computed once). */
export function currentOwner(): RunOwner {
  self ??= {
    host: hostname(),
    pidNamespace: pidNamespace(),
    pid: process.pid,
    start: startTimeOf(process.pid) ?? '',
    boot: bootId(),
  };
  return self;
}

/**
 * The owner as one token of `[A-Za-z0-9._-]` (host names keep their letters, other characters become '_'):
 * `PID-START-PIDNS-BOOT-HOST`. The host goes last because it may itself contain '-'.
 */
export function formatOwner(owner: RunOwner): string {
  return [owner.pid, owner.start, owner.pidNamespace, owner.boot, tokenHost(owner.host)].join('-');
}

/** Reads a token written by formatOwner; undefined when it is not one. */
export function parseOwner(token: string): RunOwner | undefined {
  const m = /^(\d+)-(\d*)-(\d*)-([0-9a-f]*)-([A-Za-z0-9._-]+)$/.exec(token);
  if (m === null) return undefined;
  const [, pid, start, pidNs, boot, host] = m as unknown as [string, string, string, string, string, string];
  return { pid: Number(pid), start, pidNamespace: pidNs, boot, host };
}

/**
 * Whether the recorded owner still runs. 'dead' only when this process can see it for sure: the same host
 * and PID namespace, and either a different boot, no such PID, or a PID now held by a process that started
 * at another time.
 */
export function ownerState(owner: RunOwner): OwnerState {
  const me = currentOwner();
  if (tokenHost(owner.host) !== tokenHost(me.host)) return 'unknown';
  if (owner.boot === '' || me.boot === '') return 'unknown';
  if (owner.boot !== me.boot) return 'dead';
  if (owner.pidNamespace === '' || owner.pidNamespace !== me.pidNamespace) return 'unknown';
  if (owner.pid === me.pid && owner.start === me.start) return 'alive';
  const start = startTimeOf(owner.pid);
  if (start === undefined) return 'dead';
  return owner.start !== '' && start !== owner.start ? 'dead' : 'alive';
}
