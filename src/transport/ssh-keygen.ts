/**
 * Key pairs for the built-in ssh transport's tests, the simulator and the
 * demo, in OpenSSH formats. They come from the ssh2 library's generator,
 * and a pair is kept only when the library parses both halves back: for
 * about one ed25519 key in 256 (a public key whose first byte is zero) the
 * generator writes a key that the same library then refuses as malformed.
 */
import ssh2 from 'ssh2';

export interface SshKeyPair {
  /** The private key, an OpenSSH PEM block. */
  private: string;
  /** The public key, an OpenSSH `type base64` line. */
  public: string;
}

/** Tries before giving up: a bad key is about 1 in 256, so 16 in a row is never seen. */
const ATTEMPTS = 16;

export function generateSshKeyPair(type: 'ed25519' | 'ecdsa' = 'ed25519'): SshKeyPair {
  for (let i = 0; i < ATTEMPTS; i++) {
    const pair = type === 'ed25519' ? ssh2.utils.generateKeyPairSync('ed25519') : ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error(`could not generate an ${type} key pair that ssh2 reads back (${ATTEMPTS} attempts)`);
}
