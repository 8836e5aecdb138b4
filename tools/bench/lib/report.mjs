// Statistics and the fixed-width tables every bench prints.

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (xs) => percentile(Float64Array.from(xs).sort(), 50);

/** `n` with `d` decimals, or '-' when it is not a number (a column that does not apply). */
export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** A ratio as `1.23x` ('-' when either side is missing). */
export const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');

/** A table: the first column left-aligned, the others right-aligned, a rule under the header. */
export function printTable(header, widths, rows) {
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log();
  console.log(line(header));
  console.log('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)));
  for (const r of rows) console.log(line(r));
}
