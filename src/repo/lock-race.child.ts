/**
 * Test helper for lock.test.ts (not a test itself): a long-lived writer that
 * reads one JSON request per stdin line, {repo, name, from, to}, runs
 * updateRefs and answers one JSON line: {ok: true} or {code}.
 */
import { createInterface } from 'node:readline';
import { Repo } from './repo.js';
import { updateRefs } from './refs.js';

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line) as { repo: string; name: string; from: string | null; to: string };
  const repo = Repo.open(req.repo);
  updateRefs(repo, [{ name: req.name, from: req.from, to: req.to }], { timeoutMs: 10_000 }).then(
    () => process.stdout.write(JSON.stringify({ ok: true }) + '\n'),
    (e: { code?: string; message?: string }) => process.stdout.write(JSON.stringify({ code: e.code ?? 'RAW', message: e.message }) + '\n'),
  );
});
