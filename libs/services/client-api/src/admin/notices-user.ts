import type { AxonConfig } from '@axon/platform-config';

/** The server notices user's ID, `@<system_mxid_localpart>:<server_name>`; `undefined` while server notices are off. */
export function noticesUserIdOf(config: AxonConfig): string | undefined {
  const localpart = config.server_notices.system_mxid_localpart;
  return localpart === undefined ? undefined : `@${localpart}:${config.server_name}`;
}
