export * from './room-input.client';
