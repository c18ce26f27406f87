/**
 * The model of the 2015 receiver (legacy-receiver.ts) as a command, invoked
 * as the 2015 one was: `legacy-receiver.child.ts --repo=PATH [-v] [--debug]`
 * (`--repo PATH` too), protocol on stdin/stdout, a crash's line on stderr,
 * exit 0 or 1. LEGACY_MUTANTS=publish-on-arrival,keep-staging,any-order adds
 * those weaknesses (the conformance self-check's mutants; never otherwise).
 *
 *   node --import tsx sim/legacy-receiver.child.ts --repo=PATH
 */
import { legacyReceive, MUTANTS, type Mutant } from './legacy-receiver.js';

const argv = process.argv.slice(2);
const eq = argv.find((a) => a.startsWith('--repo='))?.slice('--repo='.length);
const i = argv.indexOf('--repo');
const repo = eq ?? (i >= 0 ? argv[i + 1] : undefined);
if (repo === undefined) {
  process.stderr.write('usage: legacy-receiver --repo=PATH [-v] [--debug]\n');
  process.exit(2);
}
const mutants = (process.env.LEGACY_MUTANTS ?? '').split(',').filter((m) => m !== '');
for (const m of mutants) {
  if (!(MUTANTS as readonly string[]).includes(m)) {
    process.stderr.write(`legacy-receiver: unknown mutant ${m}\n`);
    process.exit(2);
  }
}
const r = await legacyReceive({ repo, input: process.stdin, output: process.stdout, mutants: mutants as Mutant[], log: (l) => process.stderr.write(`${l}\n`) });
process.stdout.end(() => process.exit(r.code ?? 1));
