import { Buffer } from 'node:buffer';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanTar, type TarMember } from '../../../src/tar/index.js';
import { chunkEntry, EMPTY_SHA256, memberEntry } from '../../../src/layers/zstdchunked/toc.js';
import { TarSplitBuilder } from '../../../src/layers/zstdchunked/tar-split.js';
import { cleanPath } from '../../../src/layers/zstdchunked/checks.js';
import { paxTar } from './tars.js';

async function members(tar: Buffer): Promise<TarMember[]> {
  const out: TarMember[] = [];
  async function* once(): AsyncGenerator<Uint8Array> {
    yield tar;
  }
  for await (const ev of scanTar(once())) if (ev.kind === 'member') out.push(ev.member);
  return out;
}

describe('TOC entries', () => {
  it('writes the keys in docs/format.md order, omits zero values, keeps fractions, base64 xattrs, no HTML escaping', async () => {
    const [file, dir] = await members(paxTar());
    expect(
      memberEntry(file as TarMember, 'sha256:aa', {
        offset: 10,
        endOffset: 20,
        chunkSize: 3,
        chunkOffset: 0,
        chunkDigest: 'sha256:bb',
      }),
    ).toBe(
      '{"type":"reg","name":"a<b>&\\"q\\".txt","mode":420,"size":3,"uid":1000,"gid":1000,"userName":"u","groupName":"g",' +
        '"modtime":"2023-11-14T22:13:20.5Z","accesstime":"2023-11-14T22:13:21.25Z","changetime":"2023-11-14T22:13:22Z",' +
        '"xattrs":{"user.a":"eAB5","user.b":""},"digest":"sha256:aa","offset":10,"endOffset":20,"chunkSize":3,"chunkDigest":"sha256:bb"}',
    );
    expect(memberEntry(dir as TarMember)).toBe(
      '{"type":"dir","name":"d/","mode":493,"modtime":"1970-01-01T00:00:00Z"}',
    );
  });

  it('gives empty regular files the empty digest and no offsets; chunk entries carry only chunk fields', () => {
    expect(EMPTY_SHA256).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(chunkEntry('f', { offset: 5, chunkSize: 2, chunkOffset: 4, chunkDigest: 'sha256:cc' })).toBe(
      '{"type":"chunk","name":"f","offset":5,"chunkSize":2,"chunkOffset":4,"chunkDigest":"sha256:cc"}',
    );
  });

  it('cleans paths like Go\'s path.Clean("/" + name)', () => {
    expect(cleanPath('./a/')).toBe('/a');
    expect(cleanPath('a//b/../c')).toBe('/a/c');
    // Every name over a small alphabet of path characters, against Go's Clean("/" + name) as
    // posix.normalize spells it (the fast path for already-clean names must agree).
    const reference = (name: string): string => {
      const n = posix.normalize(`/${name}`);
      return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
    };
    const alphabet = ['a', '.', '/', 'é'];
    const names = [''];
    for (let len = 1; len <= 6; len++)
      for (let k = 0; k < alphabet.length ** len; k++) {
        let name = '';
        for (let i = 0, x = k; i < len; i++, x = Math.floor(x / alphabet.length))
          name += alphabet[x % alphabet.length];
        names.push(name);
      }
    for (const name of names) expect(cleanPath(name), JSON.stringify(name)).toBe(reference(name));
    expect(cleanPath('../..')).toBe('/');
    expect(cleanPath('/')).toBe('/');
  });
});

describe('tar-split lines', () => {
  it('writes segments and file lines in the packer format with running positions', () => {
    const lines: string[] = [];
    const b = new TarSplitBuilder({
      text: (l) => lines.push(l),
      base64: (head, bytes, tail) => lines.push(head + Buffer.from(bytes).toString('base64') + tail),
    });
    b.addRaw(Buffer.from('hdr'));
    b.flushSegment();
    b.addFile('a', 3n, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]));
    b.flushSegment();
    b.addFile('e', 0n, undefined);
    b.addTrailingSegments(Buffer.alloc((1 << 20) + 1));
    expect(lines[0]).toBe('{"type":2,"payload":"aGRy","position":0}\n');
    expect(lines[1]).toBe('{"type":1,"name":"a","size":3,"payload":"AAAAAAAAAAE=","position":1}\n');
    expect(lines[2]).toBe('{"type":1,"name":"e","payload":null,"position":2}\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('{"type":2,"payload":"AA==","position":4}\n');
  });
});
