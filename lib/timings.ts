/**
 * Opt-in phase timings for profiling (`LAMBDA_CD_TIMINGS=1`): one stderr line per phase as it
 * ends, `[timings] <phase> <ms> ms (at <ms> ms)`, where "at" counts from the process's start
 * (performance.timeOrigin), so Node's own start-up shows as the "at" of the first phase.
 * Nothing is printed, and nearly nothing done, when the variable is unset.
 */
const enabled = (): boolean => process.env.LAMBDA_CD_TIMINGS !== undefined && !['', '0', 'false'].includes(process.env.LAMBDA_CD_TIMINGS);

function line(phase: string, ms: number): void {
  process.stderr.write(`[timings] ${phase} ${ms.toFixed(1)} ms (at ${performance.now().toFixed(0)} ms)\n`);
}

/** Runs `work`, reporting how long it took when timings are on. */
export async function timed<T>(phase: string, work: () => Promise<T> | T): Promise<T> {
  if (!enabled()) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    line(phase, performance.now() - started);
  }
}

/** A phase that ended now, having started at `started` (performance.now()). */
export function phaseEnded(phase: string, started: number): void {
  if (enabled()) line(phase, performance.now() - started);
}
