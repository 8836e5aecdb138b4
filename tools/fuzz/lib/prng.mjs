// A seeded pseudo-random generator (mulberry32): the same FUZZ_SEED gives the same inputs in
// the same order, so a failure found by a run can be reproduced by running it again.

export function makeRng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    /** An integer in [0, n). */
    int: (n) => Math.floor(next() * n),
    /** An integer in [min, max]. */
    range: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    /** A fresh generator whose sequence depends only on this one's next value. */
    fork: () => makeRng(Math.floor(next() * 4294967296)),
  };
  return rng;
}

/** FUZZ_SEED when set (decimal), else a random 32-bit seed. */
export function seedFrom(setting) {
  if (setting === undefined || setting === '') return Math.floor(Math.random() * 4294967296);
  const seed = Number(setting);
  if (!Number.isInteger(seed) || seed < 0 || seed > 4294967295) throw new Error(`FUZZ_SEED must be an integer in [0, 4294967295], not ${setting}`);
  return seed;
}
