#!/usr/bin/env node
// Entry point: wires process signals to an AbortController and the exit code to the CLI's result.
// SIGINT exits 130 and SIGTERM 143, after the conversion has cleaned up (a second signal kills at once).

import { main } from '../cli/program.js';

const controller = new AbortController();
let signalExitCode: number | undefined;

function onSignal(name: 'SIGINT' | 'SIGTERM', code: number): void {
  process.once(name, () => {
    signalExitCode = code;
    controller.abort(new Error(`interrupted by ${name}`));
  });
}
onSignal('SIGINT', 130);
onSignal('SIGTERM', 143);

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = signalExitCode ?? code;
