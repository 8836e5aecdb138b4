import { InProcessServer } from './in-process';
import { describeRpcContract } from './testing/rpc-contract';

describeRpcContract('in-process', async ({ register, logger, shutdownTimeoutMs }) => {
  const server = new InProcessServer({ logger, shutdownTimeoutMs });
  register(server);
  let shutDown = false;
  return {
    client: (service, options) => server.client(service, options),
    shutdown: async (options) => {
      shutDown = true;
      await server.shutdown(options);
    },
    dispose: async () => {
      if (!shutDown) await server.shutdown();
    },
  };
});
