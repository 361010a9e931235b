// The files of a --src-cert-dir/--dest-cert-dir, in the layout containers' certs.d directories use: every
// *.crt is an extra CA, a *.cert and its *.key are the client certificate. A missing directory adds nothing.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function certFiles(dirs: string[]): Promise<{ ca: string[]; cert?: string; key?: string }> {
  const out: { ca: string[]; cert?: string; key?: string } = { ca: [] };
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.crt')) out.ca.push(await readFile(path, 'utf8'));
      else if (name.endsWith('.cert')) out.cert = await readFile(path, 'utf8');
      else if (name.endsWith('.key')) out.key = await readFile(path, 'utf8');
    }
  }
  return out;
}
