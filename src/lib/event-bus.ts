/**
 * A typed in-process event bus: the spine between ingestion, detection, persistence and the
 * realtime gateway. Listeners are isolated: a listener that throws (or rejects) is logged and
 * never stalls the emitter or the other listeners.
 */
export interface EventBus<M> {
  emit<K extends keyof M & string>(event: K, payload: M[K]): void;
  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void | Promise<void>): () => void;
  listenerCount<K extends keyof M & string>(event: K): number;
}

export interface BusLogger {
  error(obj: object, msg: string): void;
}

export function createEventBus<M>(logger: BusLogger): EventBus<M> {
  const listeners = new Map<string, Set<(payload: unknown) => void | Promise<void>>>();
  const report = (event: string, err: unknown) => logger.error({ err, event }, 'event listener failed');
  return {
    emit(event, payload) {
      const set = listeners.get(event);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          const result = listener(payload);
          if (result instanceof Promise) result.catch((err: unknown) => report(event, err));
        } catch (err) {
          report(event, err);
        }
      }
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (payload: unknown) => void | Promise<void>;
      set.add(l);
      return () => void set.delete(l);
    },
    listenerCount(event) {
      return listeners.get(event)?.size ?? 0;
    },
  };
}
