/**
 * How a value from an argument or the backend is shown inside text the model or a human reads
 * (approval prompts, error messages): as data. Control and bidi-override characters become
 * spaces, so a crafted value cannot restyle the text around it, and long values are cut.
 */
export function displayText(value: unknown, maxLength: number): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, ' ');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}… (${clean.length} characters)` : clean;
}

/**
 * Text for a human who must see exactly what it holds (the approval page): every invisible,
 * format, bidi or separator character is shown as `⟨U+XXXX⟩`, so hidden instructions and text
 * that restyles its surroundings are visible. Line breaks and tabs stay as they are.
 */
export function showInvisible(text: string): string {
  return text.replace(/[^\n\t\P{C}]|[\p{Zl}\p{Zp}]/gu, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
}
