// `tsconvert completion bash|zsh|fish|powershell` prints a shell script; the script asks the binary itself
// (`tsconvert complete -- WORDS`) what may come next. Both commands come from @bomb.sh/tab, which reads the
// commander program: subcommands, visible flags and every flag's `choices` (--progress, --log-format,
// --content-reads, --zstdchunked-annotations, …), so nothing is listed twice. Only what commander cannot
// know is added here: common --platform values, and the one --format value.

import tab from '@bomb.sh/tab/commander';
import type { Command } from 'commander';

/** Platforms offered for --platform (any os/arch[/variant] is accepted; these are the usual ones). */
const COMMON_PLATFORMS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'windows/amd64',
];

type Complete = (value: string, description: string) => void;

/** Adds `completion SHELL` and the hidden `complete -- WORDS` to the program. */
export function addCompletion(program: Command): void {
  const completion = tab(program, { completionCommandName: 'completion' });
  program.commands
    .find((c) => c.name() === 'completion')
    ?.description(
      'print the completion script for a shell (subcommands, flags, flag values); see README "Shell completion" for where to install it',
    );
  for (const name of ['image convert', 'image verify']) {
    const command = completion.commands.get(name);
    const platform = command?.options.get('platform');
    if (platform !== undefined)
      platform.handler = (complete: Complete) => {
        for (const p of COMMON_PLATFORMS) complete(p, '');
      };
    const format = command?.options.get('format');
    if (format !== undefined) format.handler = (complete: Complete) => complete('json', '');
  }
}
