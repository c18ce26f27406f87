/**
 * Push progress on stderr: on a terminal one line rewritten in place (at
 * most ten times a second), objects and bytes sent, rate and ETA; off a
 * terminal nothing, unless -v asks for a plain line every few seconds.
 * Anything else written to stderr meanwhile (the remote's messages) goes
 * through `interject`, which clears the line first so the two never mix.
 */
import type { PushProgress } from '../protocol/pusher.js';
import { formatBytes } from './push-report.js';

export type ProgressMode = 'tty' | 'lines' | 'off';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The text of one progress report; `elapsedMs` since the first object. */
export function progressText(p: PushProgress, elapsedMs: number): string {
  const pct = p.objectsTotal === 0 ? 100 : Math.floor((100 * p.objectsSent) / p.objectsTotal);
  const rate = elapsedMs > 0 ? (p.bytesSent * 1000) / elapsedMs : 0;
  const done = p.objectsSent >= p.objectsTotal;
  const eta = done ? 'done' : rate > 0 ? `ETA ${clock((p.bytesTotal - p.bytesSent) / rate)}` : 'ETA --:--';
  return `Sending objects: ${pct}% (${p.objectsSent}/${p.objectsTotal}), ${formatBytes(p.bytesSent)} of ${formatBytes(p.bytesTotal)}, ${formatBytes(Math.round(rate))}/s, ${eta}`;
}

export class Progress {
  #shown = '';
  #last = 0;
  #start: number | undefined;
  readonly #write: (text: string) => void;
  readonly #mode: ProgressMode;
  readonly #now: () => number;

  constructor(write: (text: string) => void, mode: ProgressMode, now: () => number = Date.now) {
    this.#write = write;
    this.#mode = mode;
    this.#now = now;
  }

  update(p: PushProgress): void {
    if (this.#mode === 'off') return;
    const now = this.#now();
    this.#start ??= now;
    const final = p.objectsSent >= p.objectsTotal;
    const every = this.#mode === 'tty' ? 100 : 5000;
    if (!final && this.#last !== 0 && now - this.#last < every) return;
    this.#last = now;
    const text = progressText(p, now - this.#start);
    if (this.#mode === 'tty') {
      this.#write(`\r${text.padEnd(this.#shown.length)}`);
      this.#shown = text;
    } else {
      this.#write(`${text}\n`);
    }
  }

  /** Writes other stderr text without tearing the progress line. */
  interject(text: string): void {
    if (this.#shown !== '') {
      this.#write(`\r${' '.repeat(this.#shown.length)}\r`);
      this.#shown = '';
      this.#last = 0;
    }
    this.#write(text);
  }

  /** Ends the line (the last state stays visible). */
  finish(): void {
    if (this.#shown !== '') this.#write('\n');
    this.#shown = '';
  }
}
