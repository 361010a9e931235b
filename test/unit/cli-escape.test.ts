// The CLI's terminal escaping (src/cli/escape.ts): control and bidi characters become visible escapes,
// ordinary text (non-ASCII letters included) is left alone, and escaped JSON is still the same JSON.
import { describe, expect, it } from 'vitest';
import { escapeForTerminal, escapeJsonForTerminal } from '../../src/cli/escape.js';
import { renderTextLine } from '../../src/cli/logger.js';

describe('escapeForTerminal', () => {
  it('shows control, C1, separator and bidi characters as escapes', () => {
    expect(escapeForTerminal('\x1b[31mred\x07')).toBe('\\x1b[31mred\\x07');
    expect(escapeForTerminal('a\nb\r\tc\x7f\x9b')).toBe('a\\x0ab\\x0d\\x09c\\x7f\\x9b');
    expect(escapeForTerminal('x\u202ey\u2066z\u2028')).toBe('x\\u{202e}y\\u{2066}z\\u{2028}');
  });

  it('leaves printable text as it is', () => {
    const text = 'layer sha256:ab "name" é 中文 ~!@#$%^&*()';
    expect(escapeForTerminal(text)).toBe(text);
  });
});

describe('escapeJsonForTerminal', () => {
  it('keeps the JSON value and leaves no raw unsafe character', () => {
    const value = { msg: 'a\x1b\x7f\x9b\u202e\u2029b', n: 1 };
    const out = escapeJsonForTerminal(JSON.stringify(value));
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028-\u202e]/);
    expect(JSON.parse(out)).toEqual(value);
  });

  it('keeps the line breaks and indentation of an indented JSON text', () => {
    const value = { Layers: [{ Reason: 'x\u009by' }] };
    const out = escapeJsonForTerminal(JSON.stringify(value, null, 4));
    expect(out).toBe('{\n    "Layers": [\n        {\n            "Reason": "x\\u009by"\n        }\n    ]\n}');
    expect(JSON.parse(out)).toEqual(value);
  });
});

describe('renderTextLine', () => {
  it('escapes the message and the fields of a record', () => {
    const line = JSON.stringify({ level: 40, msg: 'bad \x1b]0;t\x07 name', path: 'p\x9bq' });
    expect(renderTextLine(line, true)).toBe('tsconvert: warning: bad \\x1b]0;t\\x07 name path=p\\x9bq\n');
  });
});
