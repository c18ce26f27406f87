/**
 * Client for testkit/glib_oracle.py: GLib as the reference GVariant
 * codec. One process per client; requests are pipelined (many in flight,
 * answered in order), so thousands of cases take seconds.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { toTaggedJSON, fromTaggedJSON, type TaggedJSON } from '../src/gvariant/json.js';
import type { ByteOrder, GVValue } from '../src/gvariant/index.js';

const SCRIPT = fileURLToPath(new URL('./glib_oracle.py', import.meta.url));

interface Pending {
  resolve: (r: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class GLibOracle {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  private dead: Error | undefined;

  constructor() {
    this.proc = spawn('/usr/bin/python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const res = JSON.parse(line) as Record<string, unknown>;
      const p = this.pending.get(res.id as number);
      if (!p) return;
      this.pending.delete(res.id as number);
      if (res.ok === true) p.resolve(res);
      else p.reject(new Error(`glib oracle: ${String(res.error)}`));
    });
    this.proc.on('exit', (code, signal) => {
      this.dead = new Error(`glib oracle exited (${code ?? signal}): ${this.stderr.slice(-2000)}`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    });
    this.proc.stdin.on('error', () => { /* reported through 'exit' */ });
  }

  request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  /** GLib's serialization of a value given as tagged JSON, as hex. */
  async encodeJSON(type: string, value: TaggedJSON, order: ByteOrder = 'le'): Promise<string> {
    const res = await this.request({ op: 'encode', type, value, order });
    return res.hex as string;
  }

  async encode(type: string, value: GVValue, order: ByteOrder = 'le'): Promise<Uint8Array> {
    return Buffer.from(await this.encodeJSON(type, toTaggedJSON(type, value), order), 'hex');
  }

  /** GLib's (lenient) reading of bytes, as tagged JSON, and whether GLib deems them normal form. */
  async decodeJSON(type: string, hex: string, order: ByteOrder = 'le'): Promise<{ value: TaggedJSON; normal: boolean }> {
    const res = await this.request({ op: 'decode', type, hex, order });
    return { value: res.value as TaggedJSON, normal: res.normal as boolean };
  }

  async decode(type: string, bytes: Uint8Array, order: ByteOrder = 'le'): Promise<{ value: GVValue; normal: boolean }> {
    const r = await this.decodeJSON(type, Buffer.from(bytes).toString('hex'), order);
    return { value: fromTaggedJSON(type, r.value), normal: r.normal };
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    await exited;
  }
}
