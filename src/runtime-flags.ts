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
 *
 * --heap-growing-percent=50: V8 lets the old generation grow to a multiple of
 * what survived the last full collection (up to 4×) before it collects
 * again. A receiver publishing into a bucket sends 16 PUTs at once through
 * the AWS SDK, whose per-request objects outlive two scavenges and are
 * promoted as garbage: with ~25 MB live its heap grew to 80 MB between full
 * collections, and its peak RSS to 170–180 MiB on os-like. At 1.5× live, the
 * same push peaked near 120 MiB (src/bucket/README.md, "Memory").
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=50'];
