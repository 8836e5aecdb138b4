import { createGrpcClient, GrpcChannel } from '../grpc-client';
import { GrpcServer } from '../grpc-server';
import type { MakeHarness } from './rpc-contract';

/**
 * The contract harness over a real gRPC socket: `listenOn` is a `host:port` (port 0
 * for a free one) or `unix:/path`; clients connect to what was actually bound.
 */
export function grpcHarness(listenOn: string): MakeHarness {
  return async ({ register, logger, shutdownTimeoutMs }) => {
    const server = new GrpcServer({ logger, shutdownTimeoutMs });
    register(server);
    const port = await server.listen(listenOn);
    const address = listenOn.startsWith('unix:') ? listenOn : listenOn.replace(/:0$/, `:${port}`);
    const channel = new GrpcChannel(address);
    let shutDown = false;
    return {
      client: (service, options) => createGrpcClient(service, channel, options),
      shutdown: async (options) => {
        shutDown = true;
        await server.shutdown(options);
      },
      dispose: async () => {
        channel.close();
        if (!shutDown) await server.shutdown();
      },
    };
  };
}
