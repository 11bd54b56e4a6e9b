/**
 * One timer for every simulated device, fair to I/O under overload.
 *
 * A timer per device used to drive the simulator. When those timers need more CPU than there is
 * (1,000 simulated devices on a busy core), Node's timers phase always has a due timer, and the
 * process stopped reading its sockets altogether: database replies sat in the kernel for minutes
 * (the log writer and session starts stalled), Socket.IO clients timed out. Here all devices share a
 * min-heap of due times; one turn runs due devices, oldest due first, for at most `budgetMs`, then
 * continues after the poll phase (`setImmediate`), so sockets are read between turns however far
 * behind the devices are. The budget (3 ms) bounds the event-loop delay a turn adds: at 500
 * simulated devices on the project's 2-core machine the delay p99 was 8–15 ms with 10 ms turns and
 * 6 ms with 3 ms turns (issue 15 wants under 10 ms; decision 0019, `npm run bench:realtime`).
 */
export interface TickTask {
  /** Runs the task at `now` (performance.now()); returns when it is due next (Infinity: never). */
  run(now: number): number;
}

export interface TickScheduler {
  /** Runs `task` first at `due` (performance.now() time); returns a function that removes it. */
  add(task: TickTask, due: number): () => void;
  /** Tasks registered. */
  readonly size: number;
}

interface Entry {
  task: TickTask;
  due: number;
  live: boolean;
}

export function createTickScheduler(opts: { budgetMs?: number } = {}): TickScheduler {
  const budget = opts.budgetMs ?? 3;
  const heap: Entry[] = [];
  let live = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerDue = Infinity;
  let immediate: NodeJS.Immediate | undefined;

  const less = (a: Entry, b: Entry) => a.due < b.due;
  function push(e: Entry) {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }
  function pop(): Entry | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }

  function arm() {
    while (heap.length > 0 && !heap[0]!.live) pop();
    if (immediate) return;
    const next = heap[0]?.due ?? Infinity;
    if (next === timerDue) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerDue = next;
    if (next === Infinity) return;
    timer = setTimeout(turn, Math.max(0, next - performance.now()));
  }

  function turn() {
    timer = undefined;
    timerDue = Infinity;
    immediate = undefined;
    const start = performance.now();
    for (;;) {
      const top = heap[0];
      if (!top) break;
      if (!top.live) {
        pop();
        continue;
      }
      const now = performance.now();
      if (top.due > now) break;
      if (now - start >= budget) {
        // Out of budget with devices still due: let the poll phase read sockets, then go on.
        immediate = setImmediate(turn);
        return;
      }
      pop();
      let due = Infinity;
      try {
        due = top.task.run(now);
      } finally {
        if (top.live && Number.isFinite(due)) {
          top.due = due;
          push(top);
        } else if (top.live) {
          top.live = false;
          live--;
        }
      }
    }
    arm();
  }

  return {
    add(task, due) {
      const e: Entry = { task, due, live: true };
      live++;
      push(e);
      arm();
      return () => {
        if (!e.live) return;
        e.live = false;
        live--;
        if (live === 0) {
          heap.length = 0;
          if (timer) clearTimeout(timer);
          timer = undefined;
          timerDue = Infinity;
        }
      };
    },
    get size() {
      return live;
    },
  };
}
