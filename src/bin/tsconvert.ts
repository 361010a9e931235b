#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point: wires process signals to an AbortController and the exit code to the CLI's result.
// SIGINT exits 130 and SIGTERM 143, after the conversion has cleaned up (within its deadline, see
// src/convert/convert-image.ts); a second signal ends the process at once, saying what it left behind.
//
// The shebang caps V8's young generation at 4 MiB semi-spaces. Node 24 sizes them from the machine's
// memory (64 MiB each on a 24 GiB machine, Node 20 used 16 MiB), and a conversion allocates fast enough to
// grow them to the limit: peak RSS on a 200 000-empty-files layer went from 335 to 253-280 MB and on a
// 4.3 GB layer from 326 to 270-277 MB at 8 MiB (docs/benchmarks.md); 4 MiB took another 15-30 MB off the
// bench images at 16 CPUs (main image 279-293 against 296-316 MB). The price is more frequent scavenges,
// about 3 % more CPU on the bench image. V8 reads the flag only at start-up, so it cannot be set from here; run
// `node --max-semi-space-size=4 dist/bin/tsconvert.js` when starting the file with node directly.

import { interruptedAgain, Leftovers } from '../cli/leftovers-report.js';
import { main } from '../cli/program.js';

/** How long the process may linger after main() returned (a call to a stopped daemon holding a socket). */
const EXIT_GRACE_MS = 1_000;

const controller = new AbortController();
const leftovers = new Leftovers();
let signalExitCode: number | undefined;

function onSignal(name: 'SIGINT' | 'SIGTERM', code: number): void {
  process.on(name, () => {
    if (signalExitCode === undefined) {
      signalExitCode = code;
      controller.abort(new Error(`interrupted by ${name}`));
      return;
    }
    // A second signal: the user does not want to wait for the clean-up. Say what it leaves.
    process.stderr.write(interruptedAgain(name, leftovers));
    process.exit(signalExitCode);
  });
}
onSignal('SIGINT', 130);
onSignal('SIGTERM', 143);

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  leftovers,
});
process.exitCode = signalExitCode ?? code;
// Every wait has a deadline, but a cancelled call to a stopped daemon may keep its socket open a while
// after the run gave up on it; the result is already out, so do not wait for that.
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
