// Test helpers for the private containerd started by test/setup/global-containerd.ts: its address and log,
// a unique namespace per test (so tests never see each other's content), and `ctr` run against the same
// daemon so results are checked by containerd's own client rather than by the code under test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Logger } from '../../src/util/log.js';

export interface TestContainerd {
  /** Socket path of the daemon. */
  address: string;
  /** Daemon log ('' when TSCONVERT_TEST_ADDRESS points at an external daemon). */
  logPath: string;
  /** A fresh namespace name, unique per call. */
  newNamespace: (prefix?: string) => string;
}

export interface CtrResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CtrOptions {
  namespace: string;
  /** Bytes for ctr's stdin (e.g. `ctr content ingest`). */
  input?: Uint8Array | string;
}

let counter = 0;

/** A namespace nobody else uses: prefix, process id, a counter and random hex. */
export function newNamespace(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

export function testContainerd(): TestContainerd {
  return { address: inject('containerdAddress'), logPath: inject('containerdLog'), newNamespace };
}

/** Runs `ctr -a <address> -n <namespace> ...args`; never rejects, the exit code is in the result. */
export function ctr(args: string[], options: CtrOptions): Promise<CtrResult & { stdoutBytes: Buffer }> {
  const address = inject('containerdAddress');
  return new Promise((resolve) => {
    const child = execFile(
      'ctr',
      ['-a', address, '-n', options.namespace, ...args],
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({
          stdout: stdout.toString('utf8'),
          stdoutBytes: stdout,
          stderr: stderr.toString('utf8'),
          code,
        });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/** A Logger that keeps every record, for asserting what the backend logged. */
export function recordingLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (objOrMsg: Record<string, unknown> | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') records.push({ level, msg: objOrMsg, obj: {} });
      else records.push({ level, msg: msg ?? '', obj: objOrMsg });
    };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
