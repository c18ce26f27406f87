/**
 * python3's own static file server (`python3 -m http.server`), the server
 * the 1.x pusher runs (SimpleHTTPRequestHandler), bound to 127.0.0.1 on an
 * ephemeral port and stopped when the test ends. Callers guard with
 * `needTools(t, 'python3')`.
 */
import { spawn } from 'node:child_process';
import type { HasAfter } from './tmp.js';

export interface PythonServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash (as the 1.x pusher passes it). */
  url: string;
  port: number;
}

export async function servePython(dir: string, t: HasAfter): Promise<PythonServer> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(
    () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  );
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /port (\d+)/.exec(out);
      if (m !== null) ok(Number(m[1]));
    });
    // Request lines go to stderr: drained, never read.
    child.stderr.resume();
    child.once('exit', (code) => fail(new Error(`python3 -m http.server exited (${code}) before it listened: ${out}`)));
    child.once('error', fail);
  });
  return { url: `http://127.0.0.1:${port}`, port };
}
