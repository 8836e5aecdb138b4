import { OffsetTracker } from './offset-tracker';

describe('OffsetTracker', () => {
  it('commits only up to the lowest unfinished offset', () => {
    const t = new OffsetTracker();
    expect(t.lowWaterMark()).toBeUndefined();
    for (const o of [10n, 11n, 12n, 13n]) t.track(o);
    expect(t.lowWaterMark()).toBe(10n);
    expect(t.finish(12n)).toBe(false);
    expect(t.finish(13n)).toBe(false);
    expect(t.lowWaterMark()).toBe(10n);
    expect(t.finish(10n)).toBe(true);
    expect(t.lowWaterMark()).toBe(11n);
    expect(t.finish(11n)).toBe(true);
    expect(t.lowWaterMark()).toBe(14n);
    expect(t.pending).toBe(0);
  });

  it('steps over gaps in the offsets', () => {
    const t = new OffsetTracker();
    t.track(3n);
    t.track(7n);
    t.finish(3n);
    expect(t.lowWaterMark()).toBe(7n);
    t.finish(7n);
    expect(t.lowWaterMark()).toBe(8n);
    expect(t.nextOffset).toBe(8n);
  });

  it('refuses offsets that do not increase, ignores unknown ones', () => {
    const t = new OffsetTracker();
    t.track(5n);
    expect(() => t.track(5n)).toThrow(/not above/);
    expect(t.finish(99n)).toBe(false);
    expect(t.finish(5n)).toBe(true);
    expect(t.finish(5n)).toBe(false);
  });

  it('keeps nothing once everything tracked is finished, and only what is above an unfinished offset otherwise', () => {
    const t = new OffsetTracker();
    for (let o = 0n; o < 100n; o++) t.track(o);
    for (let o = 0n; o < 100n; o++) t.finish(o);
    expect(t.retained).toBe(0);
    expect(t.lowWaterMark()).toBe(100n);
    t.track(100n);
    for (let o = 101n; o < 3000n; o++) {
      t.track(o);
      t.finish(o);
    }
    expect(t.retained).toBe(2900);
    t.finish(100n);
    expect(t.retained).toBe(0);
    expect(t.lowWaterMark()).toBe(3000n);
  });

  it('holds up over long runs finished out of order', () => {
    const t = new OffsetTracker();
    for (let o = 0n; o < 5000n; o++) t.track(o);
    for (let o = 4999n; o >= 1n; o--) t.finish(o);
    expect(t.lowWaterMark()).toBe(0n);
    t.finish(0n);
    expect(t.lowWaterMark()).toBe(5000n);
  });
});
