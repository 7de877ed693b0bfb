/**
 * JSON whose numbers must keep the digits they were written with. JSON.parse turns every number
 * into a double, so 12345678901234567890 becomes 12345678901234567000 and 1.10 becomes 1.1; an
 * environment variable must reach Lambda as written. Node 20 has no access to a number's source
 * text in JSON.parse, so the numbers are turned into strings before parsing.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses `text` like JSON.parse, with every number value given as the string of its digits. */
export function parseJsonKeepingNumbers(text: string): unknown {
  let quoted = '';
  let from = 0;
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (char === '"') {
      // Skip the string, escapes included.
      index++;
      while (index < text.length && text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
      index++;
      continue;
    }
    if (char === '-' || (char >= '0' && char <= '9')) {
      NUMBER.lastIndex = index;
      const match = NUMBER.exec(text);
      if (match) {
        quoted += `${text.slice(from, index)}"${match[0]}"`;
        index += match[0].length;
        from = index;
        continue;
      }
    }
    index++;
  }
  // Anything that is not valid JSON stays invalid (a bare "-" or "01" is left for JSON.parse to reject).
  return JSON.parse(quoted + text.slice(from));
}
