/**
 * A strict splitter for the one command line ostree-receive-shell accepts.
 * It understands only what a pusher needs to quote a path: plain words,
 * '...' (literal), "..." holding no $ ` \ !, and a backslash escaping one
 * character outside quotes (so `'it'\''s'` works, as shellQuote writes it).
 * Any other shell syntax — ; | & $ ` < > ( ) { } * ? [ ] ~ # ! or a
 * newline outside quotes — is refused rather than interpreted: the words
 * are never given to a shell, and a refusal is clearer than a surprise.
 */
import { OstreePushError } from '../errors.js';

export class ShellError extends OstreePushError {}

const SPECIAL = new Set([...';|&$`<>(){}*?[]~#!\n\r']);

function refuse(why: string, command: string): ShellError {
  return new ShellError('SHELL_REFUSED', `refused: ${why}`, { command });
}

export function splitShellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    if (c < ' ' || c === '\x7f') throw refuse('control character in the command', command);
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) throw refuse('unterminated quote', command);
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const end = command.indexOf('"', i + 1);
      if (end === -1) throw refuse('unterminated quote', command);
      const inner = command.slice(i + 1, end);
      if (/[$`\\!]/.test(inner)) throw refuse('$, `, \\ or ! inside double quotes', command);
      word = (word ?? '') + inner;
      i = end;
    } else if (c === '\\') {
      const next = command[i + 1];
      if (next === undefined || next === '\n') throw refuse('a trailing backslash', command);
      word = (word ?? '') + next;
      i++;
    } else if (SPECIAL.has(c)) {
      throw refuse(`shell metacharacter '${c}'`, command);
    } else {
      word = (word ?? '') + c;
    }
    // Controls inside quotes are refused too: no path needs them.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point of this pattern
    if (word !== null && /[\u0000-\u001f\u007f]/.test(word)) throw refuse('control character in the command', command);
  }
  if (word !== null) words.push(word);
  return words;
}
