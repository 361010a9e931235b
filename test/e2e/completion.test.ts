// `tsconvert completion SHELL`, loaded into the real shells: bash (bash-completion loaded, the completion
// function called with COMP_WORDS/COMP_CWORD as readline would), fish (`complete -C`) and zsh (an
// interactive zsh in a tmux pane, Tab pressed, the offered list read off the screen). The scripts call
// back `tsconvert complete -- WORDS`, so `tsconvert` is put on PATH as a wrapper around the built binary.

import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binNodeFlags } from '../../scripts/bin-flags.js';
import { BIN, NODE } from '../helpers/cli.js';

const run = promisify(execFile);
const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsc-completion-'));
  const wrapper = join(dir, 'tsconvert');
  const quoted = [NODE, ...binNodeFlags(BIN), BIN].map((a) => `'${a}'`).join(' ');
  await writeFile(wrapper, `#!/bin/sh\nexec ${quoted} "$@"\n`);
  await chmod(wrapper, 0o755);
  env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir, TERM: 'xterm-256color' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What bash offers for the words of a command line (the last one being completed, maybe ''). */
async function bashOffers(words: string[]): Promise<string[]> {
  const array = words.map((w) => `'${w}'`).join(' ');
  const script = [
    `source ${BASH_COMPLETION}`,
    'source <(tsconvert completion bash)',
    `COMP_WORDS=(${array})`,
    `COMP_CWORD=${words.length - 1}`,
    'COMP_LINE="${COMP_WORDS[*]}"',
    'COMP_POINT=${#COMP_LINE}',
    'fn=$(complete -p tsconvert | sed -E "s/.* -F ([^ ]+) .*/\\1/")',
    '"$fn" 2>/dev/null',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', script], { env });
  return stdout.split('\n').filter((l) => l !== '');
}

/** What fish offers for a command line (`complete -C`), values only. */
async function fishOffers(line: string): Promise<string[]> {
  const script = `tsconvert completion fish | source; complete -C '${line}'`;
  const { stdout } = await run('fish', ['--no-config', '-c', script], { env });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0] ?? '');
}

describe('bash', () => {
  it('registers a completion function for tsconvert', async () => {
    const { stdout } = await run(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source ${BASH_COMPLETION}; source <(tsconvert completion bash); complete -p tsconvert`,
      ],
      { env },
    );
    expect(stdout.trim()).toMatch(/^complete -F \S+ tsconvert$/);
  });

  it('completes subcommands, flags, and every choice commander knows', async () => {
    expect(await bashOffers(['tsconvert', ''])).toEqual(
      expect.arrayContaining(['image', 'cleanup', 'completion']),
    );
    expect((await bashOffers(['tsconvert', 'image', ''])).sort()).toEqual(['convert', 'help', 'verify']);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--progress', ''])).toEqual([
      'auto',
      'tty',
      'plain',
      'none',
    ]);
    expect(
      (await bashOffers(['tsconvert', 'image', 'convert', '--zstdchunked-annotations', ''])).sort(),
    ).toEqual(['containers', 'stargz']);
    expect(await bashOffers(['tsconvert', '--log-format', ''])).toEqual(['text', 'json']);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--content-reads', ''])).toEqual([
      'auto',
      'grpc',
    ]);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--format', ''])).toEqual(['json']);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--platform', 'linux/a'])).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'linux/arm/v6',
    ]);
    expect(await bashOffers(['tsconvert', 'image', 'verify', '--platform', 'linux/s'])).toEqual([
      'linux/s390x',
    ]);
    expect(await bashOffers(['tsconvert', 'completion', ''])).toEqual(['zsh', 'bash', 'fish', 'powershell']);
  });

  it('completes flag names of the subcommand and the global ones, and hides the refused nerdctl flags', async () => {
    const zstd = await bashOffers(['tsconvert', 'image', 'convert', '--zstd']);
    expect(zstd.sort()).toEqual([
      '--zstd',
      '--zstd-compression-level',
      '--zstdchunked',
      '--zstdchunked-annotations',
      '--zstdchunked-chunk-size',
      '--zstdchunked-compression-level',
    ]);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--pro'])).toEqual(['--progress']);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--qu'])).toEqual(['--quiet']);
    expect(await bashOffers(['tsconvert', 'image', 'convert', '--es'])).toEqual([]);
  });
});

describe('fish', () => {
  it('completes subcommands, flags and choices', async () => {
    expect((await fishOffers('tsconvert image ')).sort()).toEqual(['convert', 'help', 'verify']);
    expect((await fishOffers('tsconvert image convert --progress ')).sort()).toEqual([
      'auto',
      'none',
      'plain',
      'tty',
    ]);
    expect(await fishOffers('tsconvert image convert --zstdchunked-a')).toEqual([
      '--zstdchunked-annotations',
    ]);
    expect((await fishOffers('tsconvert --log-format ')).sort()).toEqual(['json', 'text']);
  });
});

describe('zsh', () => {
  it('offers the choices of a flag when Tab is pressed in an interactive zsh (tmux)', async () => {
    const socket = join(dir, 'tmux.sock');
    const tmux = (...args: string[]): Promise<{ stdout: string }> =>
      run('tmux', ['-S', socket, '-f', '/dev/null', ...args], { env, encoding: 'utf8' });
    await tmux('new-session', '-d', '-x', '150', '-y', '30', 'zsh', '-f');
    const screenUntil = async (pattern: RegExp): Promise<string> => {
      let screen = '';
      for (let i = 0; i < 300; i++) {
        screen = (await tmux('capture-pane', '-p')).stdout;
        if (pattern.test(screen)) return screen;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`zsh never showed ${String(pattern)}; the screen:\n${screen}`);
    };
    try {
      await tmux(
        'send-keys',
        'autoload -U compinit && compinit -u && source <(tsconvert completion zsh) && echo READY',
        'Enter',
      );
      await screenUntil(/^READY$/m);
      await tmux('send-keys', 'tsconvert image convert --progress ', 'Tab');
      const screen = await screenUntil(/\bauto\b.*\btty\b|\btty\b.*\bauto\b/);
      const list = screen.split('\n').find((l) => /\bauto\b/.test(l) && !l.includes('tsconvert')) ?? '';
      expect(
        list
          .split(/\s+/)
          .filter((w) => /^[a-z]+$/.test(w))
          .sort(),
      ).toEqual(['auto', 'none', 'plain', 'tty']);

      await tmux('send-keys', 'C-c');
      await tmux('send-keys', 'tsconvert image ver', 'Tab');
      await screenUntil(/[#%] tsconvert image verify *$/m);
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
  }, 60_000);
});
