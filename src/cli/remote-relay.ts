/**
 * The remote's stderr as `ostree-push` shows it: the receiver's log and
 * error lines, the update hook's output and ssh's own diagnostics, relayed
 * line by line, so that each message reaches the user once.
 *
 *   - The last line is held back until another one arrives or the session
 *     ends. A receiver's last words usually repeat what the pusher reports
 *     anyway (a refusal also travels in STATUS or REPORT and is printed as
 *     ` ! [remote rejected] REF (reason)`; a failure before INFO is quoted in
 *     the pusher's own error), and `end(said)` drops the held line when one
 *     of `said` repeats it.
 *   - Quiet (-q) relays only the lines that call themselves warnings or
 *     errors (`PROG: warning: ...`, `error: ...`): never the hook's output
 *     nor log lines. What failed still reaches the user through the pusher's
 *     own error line, which quotes the remote's last line (`lastLine`).
 */

/** `PROG: warning: text`, `error: text` and the like: the lines -q still shows. */
const ALARM = /^(?:[\w.-]+: )?(?:warning|error|fatal): /i;

/** Whether `line` (one relayed line) says again what one of `said` says. */
export function repeats(line: string, said: readonly string[]): boolean {
  const text = line.trim();
  if (text === '') return false;
  // Without the program's prefix: `ostree-receive: ref x: ...` says `ref x: ...`.
  const core = text.replace(/^[\w.-]+: /, '');
  return said.some((s) => {
    if (s === '') return false;
    if (s.includes(text) || s.includes(core)) return true;
    // A reason the receiver cut to fit STATUS (spec: 4096 characters, '...' at the end).
    if (s.endsWith('...') && core.startsWith(s.slice(0, -3))) return true;
    // The line adds its own context around a reason that is already shown.
    return s.length >= 16 && core.includes(s);
  });
}

export class RemoteRelay {
  #partial = '';
  #held: string | undefined;
  #last = '';
  #ended = false;
  readonly #write: (text: string) => void;
  readonly #quiet: boolean;

  constructor(write: (text: string) => void, options: { quiet: boolean }) {
    this.#write = write;
    this.#quiet = options.quiet;
  }

  /** A chunk of the remote's stderr. */
  push(chunk: Buffer | string): void {
    this.#partial += chunk.toString();
    for (let nl = this.#partial.indexOf('\n'); nl !== -1; nl = this.#partial.indexOf('\n')) {
      const line = this.#partial.slice(0, nl + 1);
      this.#partial = this.#partial.slice(nl + 1);
      this.#line(line);
    }
    // A line that never ends is shown in pieces rather than kept without bound.
    if (this.#partial.length > 8192) {
      const piece = this.#partial;
      this.#partial = '';
      this.#line(`${piece}\n`);
    }
  }

  /** The last non-empty line the remote wrote (shown or not), for the pusher's error messages. */
  lastLine(): string {
    const pending = this.#partial.trim();
    return pending === '' ? this.#last : pending;
  }

  /**
   * The session is over: shows the held line unless one of `said` (what the
   * pusher prints itself) repeats it. Anything arriving later is shown as it
   * comes.
   */
  end(said: readonly string[]): void {
    if (this.#ended) return;
    if (this.#partial !== '') {
      const rest = this.#partial;
      this.#partial = '';
      this.#line(`${rest}\n`);
    }
    const held = this.#held;
    this.#held = undefined;
    this.#ended = true;
    if (held !== undefined && !repeats(held, said)) this.#show(held);
  }

  #line(line: string): void {
    if (line.trim() !== '') this.#last = line.trim();
    if (this.#ended) {
      this.#show(line);
      return;
    }
    if (this.#held !== undefined) this.#show(this.#held);
    this.#held = line;
  }

  #show(line: string): void {
    if (!this.#quiet || ALARM.test(line)) this.#write(line);
  }
}
