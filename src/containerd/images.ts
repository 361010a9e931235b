// containerd's image records as an ImageStore. `put` creates the record and, when the name exists, replaces
// it with an Update without a field mask (target and labels both replaced; the daemon keeps created_at).
import { isErrorCode, notFound } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { CallOptions } from '../store/content-store.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import type { CreateImageResponse__Output } from './generated/containerd/services/images/v1/CreateImageResponse.js';
import type { GetImageResponse__Output } from './generated/containerd/services/images/v1/GetImageResponse.js';
import type { Image, Image__Output } from './generated/containerd/services/images/v1/Image.js';
import type { ListImagesResponse__Output } from './generated/containerd/services/images/v1/ListImagesResponse.js';
import type { UpdateImageResponse__Output } from './generated/containerd/services/images/v1/UpdateImageResponse.js';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp.js';
import type { Empty__Output } from './generated/google/protobuf/Empty.js';
import { unaryCall, type CallContext } from './rpc.js';

function toDate(ts: Timestamp__Output | null): Date | undefined {
  if (ts === null) return undefined;
  return new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1e6));
}

function toRecord(image: Image__Output | null, name: string): ImageRecord {
  if (image === null) throw new Error(`containerd returned no image record for ${JSON.stringify(name)}`);
  const target = image.target;
  if (target === null) throw new Error(`image ${JSON.stringify(image.name)} has no target`);
  const descriptor: Descriptor = {
    mediaType: target.mediaType,
    digest: parseDigest(target.digest, `target digest of image ${JSON.stringify(image.name)}`),
    size: target.size,
  };
  if (Object.keys(target.annotations).length > 0) descriptor.annotations = { ...target.annotations };
  const record: ImageRecord = { name: image.name, labels: { ...image.labels }, target: descriptor };
  const createdAt = toDate(image.createdAt);
  const updatedAt = toDate(image.updatedAt);
  if (createdAt !== undefined) record.createdAt = createdAt;
  if (updatedAt !== undefined) record.updatedAt = updatedAt;
  return record;
}

/** Only the fields containerd stores on a target; platform and urls are not part of an image record. */
function toImage(record: ImageRecord): Image {
  const { mediaType, digest, size, annotations } = record.target;
  return {
    name: record.name,
    labels: record.labels,
    target: { mediaType, digest, size, annotations: annotations ?? {} },
  };
}

export class ContainerdImageStore implements ImageStore {
  constructor(private readonly context: CallContext) {}

  async get(name: string, { signal }: CallOptions): Promise<ImageRecord> {
    let res: GetImageResponse__Output;
    try {
      res = await unaryCall<GetImageResponse__Output>(this.context, signal, 'images.Get', (md, opts, cb) =>
        this.context.clients.images.get({ name }, md, opts, cb),
      );
    } catch (err) {
      if (!isErrorCode(err, 'NOT_FOUND')) throw err;
      throw notFound(`image "${name}": not found in containerd`, {
        cause: err,
        hint: 'check the name and namespace (ctr images ls / --namespace); tsconvert never pulls from a registry',
      });
    }
    return toRecord(res.image, name);
  }

  async list({ signal }: CallOptions): Promise<ImageRecord[]> {
    const res = await unaryCall<ListImagesResponse__Output>(
      this.context,
      signal,
      'images.List',
      (md, opts, cb) => this.context.clients.images.list({ filters: [] }, md, opts, cb),
    );
    return res.images.map((image) => toRecord(image, image.name));
  }

  async put(record: ImageRecord, { signal }: CallOptions): Promise<ImageRecord> {
    const image = toImage(record);
    try {
      const created = await unaryCall<CreateImageResponse__Output>(
        this.context,
        signal,
        'images.Create',
        (md, opts, cb) => this.context.clients.images.create({ image }, md, opts, cb),
      );
      return toRecord(created.image, record.name);
    } catch (err) {
      if (!isErrorCode(err, 'ALREADY_EXISTS')) throw err;
    }
    // No update_mask: the whole record is replaced, as `ctr images tag --force` and nerdctl do.
    const updated = await unaryCall<UpdateImageResponse__Output>(
      this.context,
      signal,
      'images.Update',
      (md, opts, cb) => this.context.clients.images.update({ image }, md, opts, cb),
    );
    return toRecord(updated.image, record.name);
  }

  /** `sync` makes containerd run garbage collection before answering. */
  async delete(name: string, { signal, sync = false }: CallOptions & { sync?: boolean }): Promise<void> {
    await unaryCall<Empty__Output>(this.context, signal, 'images.Delete', (md, opts, cb) =>
      this.context.clients.images.delete({ name, sync }, md, opts, cb),
    );
  }
}
