/**
 * How a topic's payload becomes bytes on the wire and back. Codecs are pure and
 * deterministic: the bus treats a decode failure as a poison message (dead-lettered at
 * once, since retrying cannot change the outcome).
 */
export interface Codec<T> {
  /** Short name for logs and the `content-type`-like header (`json`, `bytes`). */
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * JSON in UTF-8. The type parameter is a promise made by the topic's definition, not a
 * runtime check: pass `validate` when the payload crosses a trust boundary (it runs on
 * decode and may throw, which makes the message poison).
 */
export function jsonCodec<T>(validate?: (value: unknown) => T): Codec<T> {
  return {
    name: 'json',
    encode(value: T): Uint8Array {
      const text = JSON.stringify(value);
      if (text === undefined) throw new TypeError('jsonCodec: value is not JSON-serialisable');
      return utf8Encoder.encode(text);
    },
    decode(bytes: Uint8Array): T {
      const parsed: unknown = JSON.parse(utf8Decoder.decode(bytes));
      return validate ? validate(parsed) : (parsed as T);
    },
  };
}

/**
 * Raw bytes, passed through untouched. PDUs travel this way as canonical-JSON bytes so
 * that their hashes and signatures stay valid: they are never parsed and re-serialised
 * on the bus.
 */
export const bytesCodec: Codec<Uint8Array> = {
  name: 'bytes',
  encode: (value) => value,
  decode: (bytes) => bytes,
};
