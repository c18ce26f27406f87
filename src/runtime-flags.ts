/**
 * Node flags every one of our commands runs with. They are written twice:
 * here, for the processes we start ourselves (a local receiver, the
 * restricted shell's receiver), and in the `#!/usr/bin/env -S node …` line
 * of each command, which is how an installed command gets them; a test keeps
 * the two equal.
 *
 * --max-semi-space-size=4: a push streams tens of thousands of small buffers
 * through both ends, and with V8's default young generation the resident size
 * of each side grew past 150 MB on a 30,000-object push, all of it short-lived
 * garbage. 4 MB semi-spaces kept the receiver near 105 MB and the pusher near
 * 120 MB with no measurable change in push time (bench/README.md).
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
