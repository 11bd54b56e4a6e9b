import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The sampling timer's interval (ms). */
const RESOLUTION_MS = 10;

/**
 * Event-loop delay over a window, in ms beyond the sampling timer's due time. Node's
 * `monitorEventLoopDelay` histogram records the whole interval between the timer's runs, so on an
 * idle process every value is about the resolution (10 ms here); that interval is subtracted.
 * Until 2026-12-04 the benchmarks printed the raw values, 10 ms higher than the delay.
 */
export function loopDelay() {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  return {
    /** Stops sampling and returns p50, p99 and max (ms). */
    stop(): { p50: number; p99: number; max: number } {
      h.disable();
      return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    },
  };
}
