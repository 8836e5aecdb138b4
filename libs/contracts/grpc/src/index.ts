// The gRPC contracts of Axon: TypeScript generated from proto/ by `npm run proto`
// (ts-proto, generic service definitions). Bind them with @axon/platform-rpc.
export * from './generated';
export * from './public-room-chunk';
