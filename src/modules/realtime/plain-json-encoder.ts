import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

/**
 * Marks payloads as plain JSON: numbers, strings, booleans, null, arrays and plain objects of them,
 * never binary. A symbol-keyed property, which JSON and `Object.keys` skip, so the wire text is
 * unchanged; cheaper per reading than a WeakSet entry, which the collector must trace.
 */
const PLAIN: unique symbol = Symbol('vigil.plainJson');

/** An object that may carry the {@link PLAIN} mark. */
type Markable = { [PLAIN]?: true };

/**
 * Marks a payload built by a hot push as plain JSON, so its emit skips Socket.IO's search for
 * binary attachments (`hasBinary` walks every value: 3 % of the main thread at 1,000 devices).
 * Only for objects the caller builds from numbers, strings and booleans.
 */
export function plainJson<T extends object>(payload: T): T {
  (payload as Markable)[PLAIN] = true;
  return payload;
}

/**
 * Socket.IO's encoder, except that an event whose one argument is marked by {@link plainJson} is
 * encoded as text at once: the same text the stock encoder makes (type, namespace unless `/`, ack
 * id, JSON of the data; tested), without the binary search. Every other packet goes to the stock
 * encoder. The wire format is unchanged, so clients use the stock parser.
 */
export class PlainJsonEncoder extends Encoder {
  override encode(obj: Packet): unknown[] {
    const data: unknown = obj.data;
    if (obj.type === PacketType.EVENT && Array.isArray(data) && data.length === 2 && typeof data[1] === 'object' && data[1] !== null && (data[1] as Markable)[PLAIN] === true) {
      return [`${PacketType.EVENT}${obj.nsp && obj.nsp !== '/' ? `${obj.nsp},` : ''}${obj.id ?? ''}${JSON.stringify(data)}`];
    }
    return super.encode(obj) as unknown[];
  }
}

/** The parser for `new Server({ parser })`. */
export const plainJsonParser = { Encoder: PlainJsonEncoder, Decoder };
