/**
 * One error type for the whole project, with stable codes.
 *
 * The codes are data: `spec/errors.json` lists every code with its area, the
 * exit status a CLI uses when the error ends it, and a one-line summary. Code
 * that handles an error matches on `code`, never on the message text. Errors
 * carry structured `data` and survive `JSON.stringify`, so they can cross the
 * simulator, the conformance runner and process boundaries and be compared.
 */
import errorSpec from '../spec/errors.json' with { type: 'json' };

export type ErrorCode = keyof typeof errorSpec.codes;

export const ERROR_CODES: Readonly<Record<ErrorCode, { area: string; exit: number; summary: string }>> =
  errorSpec.codes;

export interface ErrorJSON {
  name: string;
  code: ErrorCode;
  message: string;
  data: Record<string, unknown>;
}

export class OstreePushError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.data = data;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** The exit status a CLI uses when this error ends the process. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): ErrorJSON {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }
}

/** Malformed or hostile GVariant data, or a value that does not fit its type. */
export class GVariantError extends OstreePushError {}
/** Framing of the wire protocol: header, body length, payload. */
export class WireError extends OstreePushError {}
/** Reading or writing an OSTree repository. */
export class RepoError extends OstreePushError {}
/** A peer broke the protocol or refused a request. */
export class ProtocolError extends OstreePushError {}
/** The link to the remote: ssh, pipes, processes. */
export class TransportError extends OstreePushError {}
/** Bad command-line use. */
export class UsageError extends OstreePushError {}

export function isOstreePushError(e: unknown): e is OstreePushError {
  return e instanceof OstreePushError;
}

/** Turns anything thrown into an OstreePushError, keeping the original as `cause`. */
export function asOstreePushError(e: unknown): OstreePushError {
  if (e instanceof OstreePushError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new OstreePushError('INTERNAL', message, {}, { cause: e });
}
