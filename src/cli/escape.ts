// Text from images (media types, names, tar paths, parser messages) is untrusted and may carry terminal
// escape sequences or bidirectional overrides that rewrite what a user sees. Everything the CLI prints
// passes through here: control characters (C0, DEL, C1), line and paragraph separators and bidi controls
// become visible escapes, so a log line stays one line and shows what the bytes were (issue 17, F11).

/** Characters a terminal may act on or reorder instead of showing (matching control bytes is the point). */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** The same, less C0: JSON.stringify escapes those in strings, so any left are indentation and line breaks. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string => (c.codePointAt(0) ?? 0).toString(16).padStart(width, '0');

/** One line of text for a terminal: every unsafe character as \xHH or \u{HHHH}. */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => (c <= '\u00ff' ? `\\x${hex(c, 2)}` : `\\u{${hex(c, 4)}}`));
}

/**
 * A JSON text (indented or not) with the unsafe characters JSON.stringify leaves raw (DEL, C1, separators,
 * bidi) written as \uXXXX escapes: valid JSON in, the same JSON value out, since those characters only occur
 * inside strings.
 */
export function escapeJsonForTerminal(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}
