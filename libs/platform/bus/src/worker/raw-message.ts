import type { MessageHeaders } from '../bus';

/** A message as both logs store it: bytes not yet decoded. */
export interface RawMessage {
  readonly offset: bigint;
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: MessageHeaders;
  /** ms since the epoch */
  readonly timestamp: number;
}
