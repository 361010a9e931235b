// Loads our containerd .proto files at runtime with the same options the type generator used
// (proto/loader-options.json), so the objects grpc-js hands us match the generated __Output types. The single
// cast from grpc-js's untyped package object to the generated types lives here and nowhere else.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ContentProto } from './generated/content.js';
import type { ProtoGrpcType as ImagesProto } from './generated/images.js';
import type { ProtoGrpcType as IntrospectionProto } from './generated/introspection.js';
import type { ProtoGrpcType as LeasesProto } from './generated/leases.js';
import type { ProtoGrpcType as VersionProto } from './generated/version.js';

export type ContainerdProto = ContentProto & ImagesProto & IntrospectionProto & LeasesProto & VersionProto;

/** The proto/ directory: two levels up from src/containerd, three from dist/src/containerd. */
function findProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'loader-options.json'))) return candidate;
  }
  throw new Error(`cannot find proto/loader-options.json above ${fileURLToPath(import.meta.url)}`);
}

/** The JSON options file names constructors by string ("Number", "String"); proto-loader wants them. */
function loaderOptions(protoDir: string): protoLoader.Options {
  const raw = JSON.parse(readFileSync(join(protoDir, 'loader-options.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const ctor = (name: unknown): typeof Number | typeof String | undefined =>
    name === 'Number' ? Number : name === 'String' ? String : undefined;
  return {
    keepCase: raw.keepCase === true,
    longs: ctor(raw.longs),
    enums: ctor(raw.enums) === String ? String : undefined,
    defaults: raw.defaults === true,
    oneofs: raw.oneofs === true,
    includeDirs: [protoDir],
  };
}

/** The .proto files to load, listed once in proto/entry-files.json (the type generator reads it too). */
function entryFiles(protoDir: string): string[] {
  return JSON.parse(readFileSync(join(protoDir, 'entry-files.json'), 'utf8')) as string[];
}

let cached: ContainerdProto | undefined;

/** The loaded service constructors and message types, loaded once per process. */
export function containerdProto(): ContainerdProto {
  if (cached === undefined) {
    const protoDir = findProtoDir();
    const definition = protoLoader.loadSync(entryFiles(protoDir), loaderOptions(protoDir));
    cached = grpc.loadPackageDefinition(definition) as unknown as ContainerdProto;
  }
  return cached;
}
