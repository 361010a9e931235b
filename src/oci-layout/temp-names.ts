// Names of the temporary files and directories the OCI-layout backend makes, tagged with the run owner
// (src/util/run-owner.ts) so a later run can tell which were left by a run that is now dead:
//   .NAME.tmp-OWNER-RANDOM        beside NAME (atomic replacement, archives, lock files)
//   tsconvert-oci-OWNER-XXXXXX    in $TMPDIR (an archive's extracted or built layout)

import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { currentOwner, formatOwner, parseOwner, type RunOwner } from '../util/run-owner.js';

const OWNER = '\\d+-\\d*-\\d*-[0-9a-f]*-[A-Za-z0-9._-]+';
const TEMP_FILE_RE = new RegExp(`^\\.(.+?)\\.tmp-(${OWNER})-[0-9a-f]{12}$`);
const TEMP_DIR_RE = new RegExp(`^tsconvert-oci-(${OWNER})-[A-Za-z0-9]{6}$`);

/** A name unique to this run and call, for a temp file next to `target`. */
export function tempName(target: string): string {
  const owner = formatOwner(currentOwner());
  return join(dirname(target), `.${basename(target)}.tmp-${owner}-${randomBytes(6).toString('hex')}`);
}

/** The mkdtemp prefix of this run's private directories under `parent`. */
export function tempDirPrefix(parent: string): string {
  return join(parent, `tsconvert-oci-${formatOwner(currentOwner())}-`);
}

/** For a name made by tempName: the target's base name and the owner; otherwise undefined. */
export function parseTempName(name: string): { target: string; owner: RunOwner } | undefined {
  const m = TEMP_FILE_RE.exec(name);
  const owner = m?.[2] === undefined ? undefined : parseOwner(m[2]);
  return m?.[1] === undefined || owner === undefined ? undefined : { target: m[1], owner };
}

/** For a directory name made with tempDirPrefix: its owner; otherwise undefined. */
export function parseTempDirName(name: string): RunOwner | undefined {
  const token = TEMP_DIR_RE.exec(name)?.[1];
  return token === undefined ? undefined : parseOwner(token);
}
