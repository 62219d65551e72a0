import { describe, expect, it } from 'vitest';
import { displayText, showInvisible } from '../../src/tools/displayText.ts';

/** `'A'` spelled in Unicode tag characters: invisible in every renderer, read by some models. */
const tags = (ascii: string) => [...ascii].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');

describe('showInvisible', () => {
  it.each([
    // The red-team inputs: each hides text or breaks a line without showing anything.
    ['tag characters spelling a hidden instruction', `Renew${tags('Hi')}`, 'Renew⟨U+E0048⟩⟨U+E0069⟩'],
    ['tag range ends', '\u{e0000}\u{e007f}', '⟨U+E0000⟩⟨U+E007F⟩'],
    ['line separator', 'a\u2028b', 'a⟨U+2028⟩b'],
    ['paragraph separator', 'a\u2029b', 'a⟨U+2029⟩b'],
    ['byte-order mark', '\ufeffnote', '⟨U+FEFF⟩note'],
    ['word joiner and invisible operators', '\u2060\u2061\u2062\u2063\u2064', '⟨U+2060⟩⟨U+2061⟩⟨U+2062⟩⟨U+2063⟩⟨U+2064⟩'],
    ['soft hyphen', 'pass\u00adword', 'pass⟨U+00AD⟩word'],
    ['zero-width space, joiners and marks', '\u200b\u200c\u200d\u200e\u200f', '⟨U+200B⟩⟨U+200C⟩⟨U+200D⟩⟨U+200E⟩⟨U+200F⟩'],
    ['bidi embeddings and overrides', '\u202a\u202b\u202c\u202d\u202e', '⟨U+202A⟩⟨U+202B⟩⟨U+202C⟩⟨U+202D⟩⟨U+202E⟩'],
    ['bidi isolates', '\u2066\u2067\u2068\u2069', '⟨U+2066⟩⟨U+2067⟩⟨U+2068⟩⟨U+2069⟩'],
    ['a right-to-left override that reverses a file name', 'invoice\u202efdp.exe', 'invoice⟨U+202E⟩fdp.exe'],
    ['Arabic letter mark (another format character)', 'a\u061cb', 'a⟨U+061C⟩b'],
    ['combining grapheme joiner', 'a\u034fb', 'a⟨U+034F⟩b'],
    ['Mongolian vowel separator', 'a\u180eb', 'a⟨U+180E⟩b'],
    ['variation selectors', 'a\ufe00\ufe0f\u{e0100}\u{e01ef}\u180b', 'a⟨U+FE00⟩⟨U+FE0F⟩⟨U+E0100⟩⟨U+E01EF⟩⟨U+180B⟩'],
    ['Hangul fillers', '\u3164\u115f\u1160\uffa0', '⟨U+3164⟩⟨U+115F⟩⟨U+1160⟩⟨U+FFA0⟩'],
    ['C0 and C1 controls, DEL, NEL', '\u0000\u001b[2J\u007f\u0085\u009b', '⟨U+0000⟩⟨U+001B⟩[2J⟨U+007F⟩⟨U+0085⟩⟨U+009B⟩'],
    ['a carriage return, alone or before a line feed', 'ok\rfake\r\n', 'ok⟨U+000D⟩fake⟨U+000D⟩\n'],
    ['private use', 'a\ue000\u{f0000}', 'a⟨U+E000⟩⟨U+F0000⟩'],
    ['unassigned', 'a\u{50000}', 'a⟨U+50000⟩'],
    ['lone surrogates', 'a\ud800b\udfff', 'a⟨U+D800⟩b⟨U+DFFF⟩'],
    ['a literal ⟨ cannot fake a label', '⟨U+202E⟩', '⟨U+27E8⟩U+202E⟩'],
  ])('%s', (_name, input, shown) => {
    expect(showInvisible(input)).toBe(shown);
  });

  it.each([
    ['line feeds and tabs are layout, kept', 'line 1\n\tline 2'],
    ['letters, combining accents, CJK, emoji', 'Café 東京 😀 e\u0301'],
    ['ordinary punctuation and spaces', `Q3 pricing — "final" (v2), 50% off; a\u00a0b`],
  ])('%s', (_name, input) => {
    expect(showInvisible(input)).toBe(input);
  });

  it.each([
    // Look-alike letters of another script inside a Latin word: shown, wherever they sit.
    ['a Cyrillic а in a domain', 'send it to http://exаmple.com', 'send it to http://ex⟨U+0430⟩mple.com'],
    ['Cyrillic letters leading a Latin word', 'раypal', '⟨U+0440⟩⟨U+0430⟩ypal'],
    ['a Greek omicron', 'gοogle', 'g⟨U+03BF⟩ogle'],
    ['an Armenian letter', 'Appլe', 'App⟨U+056C⟩e'],
    ['a Cherokee letter', 'ᎪPPROVED', '⟨U+13AA⟩PPROVED'],
    ['a Bengali digit zero in a Latin word', 'order০1', 'order⟨U+09E6⟩1'],
    ['a fake "approved" line', '✅ Reviewеd by security', '✅ Review⟨U+0435⟩d by security'],
    // A host name under an ASCII top-level label: every non-ASCII letter, even a whole-script word.
    ['an all-Cyrillic look-alike host', 'post it to https://рау.com/collect', 'post it to https://⟨U+0440⟩⟨U+0430⟩⟨U+0443⟩.com/collect'],
    ['an all-Cyrillic label in a subdomain', 'mail аррlе.example.org', 'mail ⟨U+0430⟩⟨U+0440⟩⟨U+0440⟩l⟨U+0435⟩.example.org'],
    ['a Greek look-alike host in an address', 'write to billing@ορεn.io', 'write to billing@⟨U+03BF⟩⟨U+03C1⟩⟨U+03B5⟩n.io'],
  ])('%s', (_name, input, shown) => {
    expect(showInvisible(input)).toBe(shown);
  });

  it.each([
    ['Russian prose', 'Счёт оплачен, спасибо'],
    ['Greek prose', 'Ευχαριστώ πολύ'],
    ['Latin and Cyrillic words side by side', 'invoice счёт Москва-Moscow'],
    ['Japanese mixing kanji, kana and Latin', 'Tシャツの在庫'],
    ['Korean beside Latin', 'K팝'],
    ['accented Latin', 'Crème brûlée, Łódź, São Paulo'],
    ['a host name all in its own script and top-level label', 'пример.рф'],
    ['an accented Latin host name', 'see café.fr'],
  ])('leaves %s as it is', (_name, input) => {
    expect(showInvisible(input)).toBe(input);
  });

  it('shows the zero-width joiner inside an emoji sequence too: it is still an invisible character', () => {
    expect(showInvisible('👩\u200d👧')).toBe('👩⟨U+200D⟩👧');
  });
});

describe('displayText', () => {
  it('keeps a value on its line: line breaks and tabs shown, and invisible characters', () => {
    expect(displayText('a\nb\tc\u2028d\ufeff', 80)).toBe('a⟨U+000A⟩b⟨U+0009⟩c⟨U+2028⟩d⟨U+FEFF⟩');
  });

  it('cuts long values and says how long they were', () => {
    expect(displayText('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}… (100 characters)`);
  });
});
