import type { Counter, Gauge, Metrics } from '@axon/platform-telemetry';

/**
 * The room server's own instruments: `hs_<app>_room_server_input_backlog_messages{partition}`
 * and `hs_<app>_room_server_events_persisted_total`.
 */
export interface RoomServerMetrics {
  /** `{partition}` of `hs.room.input.v1`: inputs received by this process and not finished (running, retrying or queued). */
  readonly inputBacklog: Gauge<'partition'>;
  /** Events appended to rooms (committed), whatever the input that made them. */
  readonly eventsPersisted: Counter;
}

export function createRoomServerMetrics(metrics: Metrics): RoomServerMetrics {
  return {
    inputBacklog: metrics.gauge(
      'room_server',
      'input_backlog',
      'messages',
      'Room inputs received by this process and not finished yet, per partition of hs.room.input.v1',
      ['partition'],
    ),
    eventsPersisted: metrics.counter('room_server', 'events_persisted', 'Events appended to rooms by this process (committed)'),
  };
}
