/**
 * Escaping for report strings. Witness lines and error tags come from recorded traffic, so they
 * may contain markup, quotes or terminal control sequences: never print them raw.
 */

const htmlEntities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "'": "&#39;"
}

/** Safe in element content and in quoted attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => htmlEntities[character] ?? character)

const escapeControlCharacter = (character: string): string => {
  if (character === "\n") return "\\n"
  if (character === "\r") return "\\r"
  if (character === "\t") return "\\t"
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`
}

/**
 * For plain-text output: a newline would break a fixed-width table, and an ESC byte could drive
 * the reader's terminal, so control characters are shown as visible escapes instead.
 */
export const escapeControlCharacters = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeControlCharacter)
