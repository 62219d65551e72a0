/**
 * How a value from an argument or the backend is shown inside text a model or a human reads
 * (approval prompts, error messages): as data, with nothing hidden (src/README.md D6).
 */

/**
 * Characters a reader cannot see, or that change how the text around them looks, rather than
 * adding a visible glyph:
 * - `\p{Cc}` controls (`\n` and `\t` are kept by the replacer below), `\p{Cf}` format
 *   characters — bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), zero-width
 *   characters and marks (U+200B–200F), word joiner and invisible operators (U+2060–2064), BOM
 *   (U+FEFF), soft hyphen (U+00AD), Mongolian vowel separator (U+180E), the tag characters
 *   U+E0000–E007F that can spell out hidden ASCII —, private-use `\p{Co}`, unassigned `\p{Cn}`
 *   and lone surrogates `\p{Cs}`, none of which has a glyph a reader can check;
 * - line and paragraph separators (U+2028/2029), which break a line where no `\n` is;
 * - characters that look like nothing and can split a word so it escapes a check by eye or by
 *   a filter: the combining grapheme joiner (U+034F), variation selectors (U+FE00–FE0F,
 *   U+E0100–E01EF, Mongolian U+180B–180D and U+180F) and the Hangul fillers
 *   (U+115F, U+1160, U+3164, U+FFA0);
 * - `⟨` itself (U+27E8), so a value cannot spell a fake `⟨U+…⟩` and every rendering reads back
 *   to exactly one text.
 */
const INVISIBLE =
  // The combining marks in this class (U+034F, the variation selectors) are matched on their own, on purpose.
  // eslint-disable-next-line no-misleading-character-class
  /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u034f\u115f\u1160\u180b-\u180d\u180f\u3164\u27e8\ufe00-\ufe0f\uffa0\u{e0100}-\u{e01ef}]/gu;

/**
 * Renders every invisible, format, bidi-control and confusable-breaking character of `text` as
 * `⟨U+XXXX⟩`, and every look-alike letter of another script inside a Latin word
 * (`showMixedScript`), so what a person approves is what the backend receives, character for
 * character.
 *
 * `\n` and `\t` stay as they are: they are visible as layout. `\r` is shown: on its own it moves
 * a terminal's cursor back to the start of the line, so the text after it overwrites what was
 * shown before it; a `\r\n` line ending shows as `⟨U+000D⟩` before the break, which is noise only
 * in text that came from Windows and is honest about the bytes that will be sent.
 */
export function showInvisible(text: string): string {
  return showMixedScript(text.replace(INVISIBLE, (char) => (char === '\n' || char === '\t' ? char : codePointLabel(char))));
}

/** A run of letters, marks and digits: the unit in which mixed scripts are looked for. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const LATIN = /\p{Script=Latin}/u;
/**
 * A letter or digit that has no business inside a Latin word: any script but Latin, the shared
 * Common and Inherited ones, and those Unicode's "highly restrictive" profile (UTS #39) lets a
 * word mix with Latin — Han, Hiragana, Katakana, Hangul, Bopomofo.
 */
const NOT_BESIDE_LATIN =
  /(?![\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}])[\p{L}\p{N}]/gu;

/**
 * Look-alike letters: inside a word that has a Latin letter, every letter or digit of another
 * script (Cyrillic `а` in `exаmple.com`, Greek `ο`, Armenian, Cherokee, Bengali `০`…) is shown
 * as `⟨U+XXXX⟩`, so `http://exаmple.com` cannot pass for `example.com`. A word in one script —
 * Russian, Greek, Japanese prose — is left as it is: a whole-script look-alike (`рау`, all
 * Cyrillic) needs confusable tables and is caught only in a host name (`HOST_NAME`).
 */
function showMixedScript(text: string): string {
  return text
    .replace(HOST_NAME, (host) => host.replace(NOT_LATIN_IN_HOST, codePointLabel))
    .replace(WORD, (word) => (LATIN.test(word) ? word.replace(NOT_BESIDE_LATIN, codePointLabel) : word));
}

/**
 * A dotted name ending in an ASCII top-level label (`рау.com`, `mail.exаmple.org`): the one place
 * a whole-script look-alike is caught without confusable tables. As browsers show such names in
 * punycode, every letter or digit of a script other than Latin in one is shown by its code point
 * (accented Latin, `café.fr`, stays readable). A match starts only where a dotted run starts: from
 * every position inside one, a failing match made hostile text cost time quadratic in its length.
 */
const HOST_NAME = /(?<![\p{L}\p{N}.-])[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[a-z]{2,63}(?![\p{L}\p{N}])/giu;
const NOT_LATIN_IN_HOST = /(?![\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}])[\p{L}\p{N}]/gu;

function codePointLabel(char: string): string {
  return `⟨U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/**
 * A value inside a one-line message (error texts the model reads): every invisible character
 * shown, line breaks and tabs shown too so the value stays on its line, long values cut with
 * their length.
 */
export function displayText(value: unknown, maxLength: number): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  const clean = showInvisible(text).replace(/[\n\t]/g, codePointLabel);
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}… (${clean.length} characters)` : clean;
}
