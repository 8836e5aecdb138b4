export * from './room-server.module';
export { ROOM_INPUT_GROUP } from './input/room-input.consumer';
export { createRoomServerMetrics, type RoomServerMetrics } from './room-server.metrics';
