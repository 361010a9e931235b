// Media types of OCI and Docker image content, their classification, and containerd's Docker → OCI map
// (docs/containerd.md#docker-to-oci-media-types). Pure data; no I/O.

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondist: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

const DOCKER_TO_OCI: Readonly<Record<string, string>> = {
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistGzip,
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerForeignLayer]: MediaType.ociLayerNondist,
  [MediaType.dockerConfig]: MediaType.ociConfig,
};

export type Compression = 'none' | 'gzip' | 'zstd';

export function isIndexType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestType(mt: string): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

export function isDockerType(mt: string): boolean {
  return mt.startsWith('application/vnd.docker.');
}

/** containerd's IsLayerType: every OCI layer type and the Docker rootfs diff types. */
export function isLayerType(mt: string): boolean {
  if (mt.startsWith('application/vnd.oci.image.layer.')) return true;
  return mt.startsWith('application/vnd.docker.image.rootfs.');
}

export function isNondistributable(mt: string): boolean {
  return mt.includes('.nondistributable.') || mt.includes('.foreign.');
}

/** Compression named by a layer media type (the blob itself is sniffed too; see stream/sniff.ts). */
export function layerCompression(mt: string): Compression {
  if (mt.endsWith('+gzip') || mt.endsWith('.gzip')) return 'gzip';
  if (mt.endsWith('+zstd') || mt.endsWith('.zstd')) return 'zstd';
  return 'none';
}

/** Docker → OCI media type, or the input unchanged when it has no mapping (Docker zstd layers stay). */
export function dockerToOci(mt: string): string {
  return DOCKER_TO_OCI[mt] ?? mt;
}

/** The layer media type for a given compression, keeping the non-distributable flavour. */
export function ociLayerType(compression: Compression, nondistributable: boolean): string {
  if (nondistributable) {
    if (compression === 'gzip') return MediaType.ociLayerNondistGzip;
    if (compression === 'zstd') return MediaType.ociLayerNondistZstd;
    return MediaType.ociLayerNondist;
  }
  if (compression === 'gzip') return MediaType.ociLayerGzip;
  if (compression === 'zstd') return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}

/** Layer media type for an uncompressed result, keeping the Docker family when not converting to OCI. */
export function uncompressedLayerType(sourceType: string, oci: boolean): string {
  const nondist = isNondistributable(sourceType);
  if (!oci && isDockerType(sourceType)) return nondist ? MediaType.dockerForeignLayer : MediaType.dockerLayer;
  return ociLayerType('none', nondist);
}
