/** Every Axon service that runs as its own process in distributed mode (`dist/apps/<name>/src/main.js`). */
export const SERVICE_NAMES = ['client-api', 'sync', 'room-server', 'federation-receiver', 'federation-sender', 'media'] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}
