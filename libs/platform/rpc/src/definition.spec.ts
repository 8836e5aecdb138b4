import { DiagnosticsDefinition, HealthDefinition } from '@axon/contracts-grpc';
import type { ServiceClient, ServiceDefinition, ServiceImplementation } from './definition';
import { createInProcessClient } from './in-process';
import { MethodTable } from './server-core';
import { RecordingLogger } from './testing/probe-service';

// The type-level part is checked by `npm run typecheck`: each @ts-expect-error must
// still be an error, or the typecheck fails.
type Diagnostics = ServiceImplementation<typeof DiagnosticsDefinition>;

// @ts-expect-error a method is missing
const missing: Diagnostics = {};

const wrongResponse: Diagnostics = {
  // @ts-expect-error the response lacks the DescribeResponse fields
  describe: async () => ({ service: 'x' }),
};

type HealthClient = ServiceClient<typeof HealthDefinition>;
type WatchResult = ReturnType<HealthClient['watch']>;
const streams: WatchResult extends AsyncIterable<{ status: number }> ? true : false = true;
const unaryIsPromise: ReturnType<HealthClient['check']> extends Promise<{ status: number }> ? true : false = true;

describe('service definitions', () => {
  it('derives client and implementation types (see the typecheck)', () => {
    expect([missing, wrongResponse, streams, unaryIsPromise]).toHaveLength(4);
  });

  it('refuses an implementation that lacks a handler at runtime too', () => {
    const table = new MethodTable();
    expect(() => table.add(DiagnosticsDefinition, {} as Diagnostics)).toThrow('/hs.platform.v1.Diagnostics/Describe has no handler');
  });

  it('refuses client-streaming methods, which Axon does not support', () => {
    const upload: ServiceDefinition = {
      name: 'Upload',
      fullName: 'test.v1.Upload',
      methods: { put: { ...DiagnosticsDefinition.methods.describe, name: 'Put', requestStream: true } },
    };
    expect(() => createInProcessClient(upload, {}, { deadlineMs: 100, logger: new RecordingLogger() })).toThrow(
      'client-streaming methods are not supported',
    );
  });
});
