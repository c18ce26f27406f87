#!/usr/bin/env node
// Placeholder until the CLI lands: says so and exits with the usage status.
process.stderr.write('ostree-receive: not implemented yet\n');
process.exit(2);
