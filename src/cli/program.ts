// The command line: `tsconvert [global flags] image convert [flags] SRC DST`. Reads flags into typed
// objects, runs the command once, and maps the outcome to an exit code. The only home of commander.

import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_MS } from '../containerd/defaults.js';
import { usageError } from '../errors.js';
import { addConvertFlags, validateConvertFlags } from './convert-flags.js';
import { addCompletion } from './completion.js';
import type { Leftovers } from './leftovers-report.js';
import { commandLogger, openOutput, PROGRESS_MODES, type OutputFlags } from './progress.js';
import { reportError } from './report-error.js';
import { runCleanup } from './run-cleanup.js';
import { backendOptions, runConvert, type GlobalFlags } from './run-convert.js';
import { addVerifyFlags, runVerify, validateVerifyFlags } from './verify-command.js';

export interface MainIo {
  stdout: NodeJS.WritableStream;
  /** A terminal (isTTY) gets the in-place progress view by default. */
  stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  signal: AbortSignal;
  /** Where a run records what it has not cleaned up yet, for the entry point's second-signal line. */
  leftovers?: Leftovers;
}

const VERSION = '0.1.0';

/** `--timeout` in seconds: a positive number, at most a day. */
function parseTimeout(value: unknown): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400)
    throw usageError(
      `--timeout ${JSON.stringify(String(value))}: not a number of seconds between 0 and 86400`,
      {
        hint: 'give how long tsconvert may wait for one answer from containerd, e.g. --timeout 120',
      },
    );
  return Math.round(seconds * 1000);
}

function globalFlags(program: Command): GlobalFlags {
  const o = program.opts<Record<string, unknown>>();
  return {
    timeoutMs: parseTimeout(o.timeout),
    address: String(o.address),
    namespace: String(o.namespace),
    debug: o.debug === true,
    logFormat: o.logFormat === 'json' ? 'json' : 'text',
    contentReads: o.contentReads === 'grpc' ? 'grpc' : 'auto',
    contentWrites: o.contentWrites === 'grpc' ? 'grpc' : 'auto',
  };
}

function outputFlags(program: Command): OutputFlags {
  const o = program.opts<Record<string, unknown>>();
  const progress = PROGRESS_MODES.find((m) => m === o.progress) ?? 'auto';
  return {
    logFormat: o.logFormat === 'json' ? 'json' : 'text',
    debug: o.debug === true,
    quiet: o.quiet === true,
    progress,
    progressGiven: program.getOptionValueSource('progress') === 'cli',
  };
}

function buildProgram(io: MainIo, run: (task: Promise<void>) => void): Command {
  const program = new Command('tsconvert')
    .description(
      'Convert container images in containerd or OCI layouts: zstd:chunked, zstd, uncompressed, OCI media types',
    )
    .version(VERSION)
    .addOption(
      new Option('-a, --address <address>', 'containerd address')
        .env('CONTAINERD_ADDRESS')
        .default(DEFAULT_ADDRESS),
    )
    .addOption(
      new Option('-n, --namespace <namespace>', 'containerd namespace')
        .env('CONTAINERD_NAMESPACE')
        .default(DEFAULT_NAMESPACE),
    )
    .addOption(
      new Option(
        '--content-reads <how>',
        'how blobs are read from containerd: auto (from its content directory when this process can open the files, else over gRPC) or grpc',
      )
        .choices(['auto', 'grpc'])
        .env('TSCONVERT_CONTENT_READS')
        .default('auto'),
    )
    .addOption(
      new Option(
        '--content-writes <how>',
        'how large blobs are written to containerd: auto (into the ingest file in its content directory when this process can open it; containerd still hashes and checks every byte) or grpc',
      )
        .choices(['auto', 'grpc'])
        .env('TSCONVERT_CONTENT_WRITES')
        .default('auto'),
    )
    .addOption(
      new Option(
        '--timeout <seconds>',
        'how long to wait for any one answer from containerd or a registry (a call, or the next message of a stream) before the run fails; clean-up after a failure or Ctrl-C gets at most 10 s',
      )
        .env('TSCONVERT_TIMEOUT')
        .default(String(DEFAULT_TIMEOUT_MS / 1000)),
    )
    .option('--debug', 'debug logging, and stack traces on errors', false)
    .addOption(
      new Option('--log-format <format>', 'stderr log format').choices(['text', 'json']).default('text'),
    )
    .addOption(
      new Option(
        '--progress <mode>',
        'layer progress on stderr: tty (lines redrawn in place), plain (a line per layer state change), none; auto is tty on a terminal, else plain',
      )
        .choices(PROGRESS_MODES)
        .env('TSCONVERT_PROGRESS')
        .default('auto'),
    )
    .addOption(
      new Option('-q, --quiet', 'print errors only on stderr (no progress unless --progress is given)')
        .conflicts('debug')
        .default(false),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`tsconvert: ${s}`),
    });
  const image = program.command('image').description('manage images');
  const convert = image
    .command('convert')
    .description(
      'convert an image format (e.g. --zstdchunked --oci SRC DST); SRC and DST are containerd image names, OCI layouts written oci:DIR[:REF] or oci-archive:FILE[:REF], or registry repositories written docker://HOST[:PORT]/REPO[:TAG]',
    )
    .argument('<source>', 'source image')
    .argument('<target>', 'target image (may equal the source: converts in place)')
    .allowExcessArguments(false);
  addConvertFlags(convert).action((src: string, dst: string, raw: Record<string, unknown>) => {
    const globals = globalFlags(program);
    const flags = validateConvertFlags(raw);
    run(
      openOutput(outputFlags(program), io.stderr).then(({ logger, progress }) =>
        runConvert(src, dst, flags, globals, {
          stdout: io.stdout,
          logger,
          signal: io.signal,
          ...(progress === undefined ? {} : { progress }),
          ...(io.leftovers === undefined ? {} : { leftovers: io.leftovers }),
        }),
      ),
    );
  });
  program
    .command('cleanup')
    .description(
      'remove only what killed tsconvert runs left in LOCATION (their leases and ingests in a containerd namespace, temporary files of a layout) and print it; never a committed blob, never anything of a run that is alive or on another host. LOCATION is oci:DIR, oci-archive:FILE or a containerd image name (which stands for the whole namespace of --namespace)',
    )
    .argument('<location>', 'where to clean: as a conversion TARGET would be written')
    .action((location: string) => {
      const globals = globalFlags(program);
      const logger = commandLogger(outputFlags(program), io.stderr);
      run(runCleanup(location, backendOptions(globals), { stdout: io.stdout, logger, signal: io.signal }));
    });
  addVerifyFlags(
    image
      .command('verify')
      .description(
        'check that every reader can pull an image as its layers promise (containerd name, oci:DIR[:REF] or oci-archive:FILE[:REF])',
      )
      .argument('<image>', 'image to verify'),
  ).action((target: string, raw: Record<string, unknown>) => {
    const globals = globalFlags(program);
    const logger = commandLogger(outputFlags(program), io.stderr);
    run(
      runVerify(target, validateVerifyFlags(raw), globals, { stdout: io.stdout, logger, signal: io.signal }),
    );
  });
  addCompletion(program);
  return program;
}

/** Runs one command line; resolves to the exit code. Never calls process.exit. */
export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let task: Promise<void> | undefined;
  const program = buildProgram(io, (t) => {
    task = t;
  });
  const errorOut = (): { stderr: NodeJS.WritableStream; debug: boolean; json: boolean } => {
    const g = program.opts<Record<string, unknown>>();
    return { stderr: io.stderr, debug: g.debug === true, json: g.logFormat === 'json' };
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (task !== undefined) await task;
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    return reportError(err, errorOut());
  }
}
