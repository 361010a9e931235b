// Standard base64 with padding (RFC 4648 §4, what Buffer's 'base64' encoding prints) written straight into
// a byte buffer, over several pieces as if they were one. tar-split lines carry every header of a layer
// in base64: encoding in place spares a string per line and its later conversion to UTF-8.

const ALPHABET = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 0x3d; // '='

/** Characters of the base64 text of `n` bytes. */
export const base64Length = (n: number): number => 4 * Math.ceil(n / 3);

/** Writes the base64 text of the pieces joined at `out[at]` (room for base64Length); returns its end. */
export function writeBase64(pieces: readonly Uint8Array[], out: Uint8Array, at: number): number {
  // Bytes of an incomplete group carried from one piece to the next (0-2 of them).
  let carry = 0;
  let held = 0;
  for (const p of pieces) {
    let i = 0;
    while (held > 0 && i < p.length) {
      carry = (carry << 8) | (p[i++] as number);
      if (++held === 3) {
        at = group(carry, out, at);
        carry = 0;
        held = 0;
      }
    }
    const whole = p.length - ((p.length - i) % 3);
    for (; i < whole; i += 3)
      at = group(((p[i] as number) << 16) | ((p[i + 1] as number) << 8) | (p[i + 2] as number), out, at);
    for (; i < p.length; i++, held++) carry = (carry << 8) | (p[i] as number);
  }
  if (held === 0) return at;
  const end = group(carry << (held === 1 ? 16 : 8), out, at);
  out[end - 1] = PAD;
  if (held === 1) out[end - 2] = PAD;
  return end;
}

function group(v: number, out: Uint8Array, at: number): number {
  out[at] = ALPHABET[v >>> 18] as number;
  out[at + 1] = ALPHABET[(v >>> 12) & 63] as number;
  out[at + 2] = ALPHABET[(v >>> 6) & 63] as number;
  out[at + 3] = ALPHABET[v & 63] as number;
  return at + 4;
}
