/**
 * What a receiver offers (spec/protocol.md section 12): INFO's
 * `capabilities`, read here apart from the endpoint so that the command
 * line can judge an INFO it peeked at without loading the engine.
 */
import type { Message } from '../wire/messages.js';

/** The extensions an INFO offers; none for any other message or an INFO without the key. */
export function capabilitiesOf(m: Message): Set<string> {
  if (m.type !== 'INFO') return new Set();
  const v = m.extra.get('capabilities');
  return new Set(v?.type === 'as' ? (v.value as string[]) : []);
}
