import fc from 'fast-check';
import { escapeHl7, unescapeHl7 } from './escape';
import { STANDARD_DELIMITERS, type Delimiters } from './delimiters';

const custom: Delimiters = { field: '#', component: '$', repetition: '*', escape: '@', subcomponent: '%', truncation: '' };

describe('escapeHl7 / unescapeHl7', () => {
  it.each([
    ['standard', STANDARD_DELIMITERS],
    ['custom', custom],
  ])('decode(encode(s)) is the identity for any string (%s delimiters)', (_n, d) => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const enc = escapeHl7(s, d);
        expect(unescapeHl7(enc, d)).toBe(s);
        // An encoded value never contains a delimiter or a segment/frame break.
        for (const c of [d.field, d.component, d.repetition, d.subcomponent, '\r', '\n', '\x0b', '\x1c']) {
          expect(enc.includes(c)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes hex data as UTF-8 when it is, else as ISO-8859-1', () => {
    expect(unescapeHl7('\\XC3A9\\', STANDARD_DELIMITERS)).toBe('é');
    expect(unescapeHl7('\\XE9\\', STANDARD_DELIMITERS)).toBe('é');
  });

  it('keeps unknown and unterminated sequences literally', () => {
    expect(unescapeHl7('a\\Q\\b', STANDARD_DELIMITERS)).toBe('a\\Q\\b');
    expect(unescapeHl7('a\\F', STANDARD_DELIMITERS)).toBe('a\\F');
    expect(unescapeHl7('\\XZZ\\', STANDARD_DELIMITERS)).toBe('\\XZZ\\');
  });
});
