// How tsconvert tags what a run leaves in a store while it works, so that a later run can tell a dead
// run's leftovers from a live run's and from everything that is not tsconvert's: a lease carries
// OWNER_LABEL with the run-owner token (run-owner.ts), and every ingest ref the converter opens ends in
// "@<owner token>-<12 hex>", and a layer's scratch directory in $TMPDIR is "tsconvert-layer-<owner token>-
// <6 characters>". Only leases, ingests and temporary files are ever tagged, so only they are ever
// reclaimed; a committed blob (a reusable layer included) is never garbage to tsconvert (docs/containerd.md).

import { randomBytes } from 'node:crypto';
import { currentOwner, formatOwner, parseOwner, type RunOwner } from './run-owner.js';

/** Lease label holding the owner token of the run that made the lease. */
export const OWNER_LABEL = 'io.tsconvert/owner';

/** Refs tsconvert's converter opens start with this. */
const REF_PREFIX = 'tsconvert-';
const OWNED_REF = /^tsconvert-[^@]*@(.+)-[0-9a-f]{12}$/;

/** This run's token, for OWNER_LABEL. */
export function ownerToken(): string {
  return formatOwner(currentOwner());
}

/** `ref` made this run's and unique to one writer: the owner token and a random suffix appended. */
export function ownedRef(ref: string): string {
  return `${ref}@${ownerToken()}-${randomBytes(6).toString('hex')}`;
}

/** The run an ingest ref made by ownedRef belongs to; undefined for any other ref. */
export function refOwner(ref: string): RunOwner | undefined {
  if (!ref.startsWith(REF_PREFIX)) return undefined;
  const token = OWNED_REF.exec(ref)?.[1];
  return token === undefined ? undefined : parseOwner(token);
}

const SCRATCH_PREFIX = 'tsconvert-layer-';
/** The 6 characters mkdtemp appends, after the '-' that ends the prefix. */
const SCRATCH_SUFFIX = /-[A-Za-z0-9]{6}$/;

/** The mkdtemp prefix (a base name) of this run's layer scratch directories. */
export function scratchDirPrefix(): string {
  return `${SCRATCH_PREFIX}${ownerToken()}-`;
}

/** The run a directory named by scratchDirPrefix belongs to; undefined for any other name. */
export function scratchDirOwner(name: string): RunOwner | undefined {
  if (!name.startsWith(SCRATCH_PREFIX) || !SCRATCH_SUFFIX.test(name)) return undefined;
  return parseOwner(name.slice(SCRATCH_PREFIX.length, -7));
}
