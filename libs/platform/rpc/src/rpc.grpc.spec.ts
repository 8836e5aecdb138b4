import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grpcHarness } from './testing/grpc-harness';
import { describeRpcContract } from './testing/rpc-contract';

// A loopback socket needs nothing installed, so gRPC runs in the unit project too.
describeRpcContract('grpc over tcp', grpcHarness('127.0.0.1:0'));

const socketDir = mkdtempSync(join(tmpdir(), 'axon-rpc-'));
afterAll(() => rmSync(socketDir, { recursive: true, force: true }));
describeRpcContract('grpc over a unix socket', grpcHarness(`unix:${join(socketDir, 'rpc.sock')}`));
