// Turns the SRC and DST arguments into backends: `oci:DIR[:REF]` and `oci-archive:FILE[:REF]` open an OCI
// image layout and `docker://HOST/REPO[:TAG]` a registry repository (no daemon needed); anything else is a
// containerd image name, normalised like nerdctl's. One containerd connection serves both sides; one layout
// directory named on both sides is opened once; a destination repository on the source's registry mounts
// the source's blobs instead of uploading them. The containerd and registry clients are loaded only when a
// location names them: gRPC and undici added ~30 MB to the peak RSS of runs that use neither.

import { resolve } from 'node:path';
import {
  formatTransportReference,
  parseTransportReference,
  type TransportReference,
} from '../oci-layout/reference.js';
import { openOciLayout } from '../oci-layout/backend.js';
import { recordFiles } from '../oci-layout/reuse-records.js';
import { normalizeImageName } from '../oci/reference.js';
import type { RegistryBackend } from '../registry/backend.js';
import type { Side } from '../registry/errors.js';
import {
  formatRegistryReference,
  parseRegistryReference,
  type RegistryReference,
} from '../registry/reference.js';
import { usageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { ImageBackend } from '../store/image-store.js';
import type { Logger } from '../util/log.js';
import type { MemoryBudget } from '../util/memory-budget.js';

export interface Location {
  backend: ImageBackend;
  /** The name inside the backend (containerd image name, the layout's ref name ('' = the only one), or a registry tag or digest). */
  name: string;
  /** How the result is named in output: the normalised image name, or the transport reference. */
  display: string;
}

export interface OpenedLocations {
  source: Location;
  destination: Location;
  /**
   * Makes the destination durable (writes an archive); call after a successful conversion with the layers
   * it wrote as zstd:chunked, which a registry destination is probed on for partial pulls.
   */
  finish(signal: AbortSignal, chunkedLayers?: readonly Digest[]): Promise<void>;
  close(): Promise<void>;
}

export interface LocationOptions {
  address: string;
  namespace: string;
  /** Read containerd blobs from its content directory when possible (ConnectOptions.readBlobFiles). */
  readBlobFiles: boolean;
  /** Write large containerd blobs into their ingest files when possible (ConnectOptions.writeIngestFiles). */
  writeIngestFiles: boolean;
  /** How long any one answer from containerd or a registry may take (ConnectOptions.timeoutMs). */
  timeoutMs: number;
  /** How `docker://` locations are reached; defaults: verified TLS, credentials from the usual files. */
  registry?: RegistryFlags;
  /** The run's memory budget, for a registry destination's upload buffers. */
  budget?: MemoryBudget;
  logger: Logger;
  signal: AbortSignal;
}

/** The flags of one side of a run for a registry: --src-… or --dest-…. */
export interface RegistrySideFlags {
  creds?: string;
  tlsVerify: boolean;
  certDir?: string;
}

/** Per location: a conversion's source and destination, or the one image `image verify` reads. */
export interface RegistryFlags {
  authfile?: string;
  source: RegistrySideFlags;
  destination: RegistrySideFlags;
  image: RegistrySideFlags;
}

const DEFAULT_REGISTRY_FLAGS: RegistryFlags = {
  source: { tlsVerify: true },
  destination: { tlsVerify: true },
  image: { tlsVerify: true },
};

export interface ParsedLocation {
  transport: TransportReference | null;
  registry: RegistryReference | null;
  name: string;
  display: string;
}

/** SRC or DST as written: a layout reference, or a normalised containerd name; USAGE error otherwise. */
export function parseLocation(ref: string): ParsedLocation {
  const registry = parseRegistryReference(ref);
  if (registry !== null) {
    return {
      transport: null,
      registry,
      name: registry.reference,
      display: formatRegistryReference(registry),
    };
  }
  const transport = parseTransportReference(ref);
  if (transport === null) {
    const name = normalizeImageName(ref);
    return { transport, registry, name, display: name };
  }
  return { transport, registry, name: transport.ref ?? '', display: formatTransportReference(transport) };
}

function sameLayoutDir(a: TransportReference | null, b: TransportReference | null): boolean {
  return a?.transport === 'oci' && b?.transport === 'oci' && resolve(a.path) === resolve(b.path);
}

async function openBackend(
  p: ParsedLocation,
  mode: 'read' | 'write',
  options: LocationOptions,
  side: Side = mode === 'read' ? 'source' : 'destination',
): Promise<ImageBackend> {
  if (p.registry !== null) {
    const { openRegistry } = await import('../registry/backend.js');
    const flags = options.registry ?? DEFAULT_REGISTRY_FLAGS;
    const { creds, tlsVerify, certDir } = flags[side];
    return openRegistry({
      reference: p.registry,
      side,
      tlsVerify,
      env: process.env,
      timeoutMs: options.timeoutMs,
      ...(creds === undefined ? {} : { creds }),
      ...(certDir === undefined ? {} : { certDir }),
      ...(flags.authfile === undefined ? {} : { authfile: flags.authfile }),
      ...(options.budget === undefined ? {} : { budget: options.budget }),
      ...(side === 'destination' ? { recordFiles } : {}),
      logger: options.logger,
      signal: options.signal,
    });
  }
  if (p.transport === null) {
    const { connectContainerd } = await import('../containerd/connection.js');
    return connectContainerd({ ...options });
  }
  return openOciLayout({
    path: p.transport.path,
    archive: p.transport.transport === 'oci-archive',
    mode,
    signal: options.signal,
    logger: options.logger,
  });
}

/** One location opened on its own (`tsconvert cleanup` writes one, `image verify` reads one). Close its backend when done. */
export async function openLocation(
  ref: string,
  options: LocationOptions,
  mode: 'read' | 'write' = 'write',
): Promise<Location> {
  const p = parseLocation(ref);
  return { backend: await openBackend(p, mode, options, 'image'), name: p.name, display: p.display };
}

export async function openLocations(
  src: string,
  dst: string,
  options: LocationOptions,
): Promise<OpenedLocations> {
  const s = parseLocation(src);
  const d = parseLocation(dst);
  if (d.registry?.byDigest === true) {
    throw usageError(`${d.display}: a docker:// destination needs a tag, not a digest`, {
      hint: 'the converted image gets a new digest; name a tag, e.g. docker://HOST/REPO:converted',
    });
  }
  const opened: ImageBackend[] = [];
  let containerd: ImageBackend | undefined;
  const open = async (p: ParsedLocation, mode: 'read' | 'write'): Promise<ImageBackend> => {
    if (p.transport === null && p.registry === null) {
      containerd ??= await openBackend(p, mode, options);
      if (!opened.includes(containerd)) opened.push(containerd);
      return containerd;
    }
    const layout = await openBackend(p, mode, options);
    opened.push(layout);
    return layout;
  };
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(opened.map((b) => b.close()));
  };
  try {
    const shared = sameLayoutDir(s.transport, d.transport);
    const sourceBackend = await open(s, shared ? 'write' : 'read');
    const destinationBackend = shared ? sourceBackend : await open(d, 'write');
    // A docker:// location always opens a RegistryBackend.
    const registryDestination = d.registry === null ? undefined : (destinationBackend as RegistryBackend);
    if (
      registryDestination !== undefined &&
      s.registry !== null &&
      d.registry !== null &&
      s.registry.apiHost === d.registry.apiHost &&
      s.registry.repository !== d.registry.repository
    ) {
      registryDestination.repository.mountFrom.push(s.registry.repository);
    }
    return {
      source: { backend: sourceBackend, name: s.name, display: s.display },
      destination: { backend: destinationBackend, name: d.name, display: d.display },
      finish: async (signal, chunkedLayers = []) => {
        await destinationBackend.finish?.({ signal });
        const [layer] = chunkedLayers;
        if (registryDestination !== undefined && layer !== undefined) {
          await registryDestination.checkPartialPulls(layer, signal);
        }
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
