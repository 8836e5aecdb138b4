import { grpcHarness } from './testing/grpc-harness';
import { describeRpcContract } from './testing/rpc-contract';

// The same contract over a real TCP socket, listed in the infra run next to the other
// ports' real-infrastructure suites (it needs nothing started beforehand).
describeRpcContract('grpc over tcp (infra)', grpcHarness('127.0.0.1:0'));
