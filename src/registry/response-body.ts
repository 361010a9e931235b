// Reading registry answers' bodies within bounds: manifests and error bodies are read up to a limit, and a
// body nobody reads is dropped so its connection closes.

import type { Dispatcher } from 'undici';

export type Response = Dispatcher.ResponseData;

/** How much of an error answer's body is read for its message. */
const ERROR_BODY_BYTES = 64 << 10;

/** Drops a response's body unread (closing its connection); undici reports that as an error, ignored here. */
export function discard(res: Response): void {
  res.body.on('error', () => undefined);
  res.body.destroy();
}

/** Reads at most `limit` bytes of a body and discards the rest. */
export async function bodyBytes(res: Response, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      if (size < limit) parts.push(b.subarray(0, limit - size));
      size += b.byteLength;
      if (size >= limit) break;
    }
  } finally {
    discard(res);
  }
  return Buffer.concat(parts);
}

/** A bounded part of an error answer's body as text, for its message (a broken body gives what was read). */
export async function bodyText(res: Response, limit = ERROR_BODY_BYTES): Promise<string> {
  return (await bodyBytes(res, limit).catch(() => Buffer.alloc(0))).toString('utf8');
}
