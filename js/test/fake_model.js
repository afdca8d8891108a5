// A fake anywidget model for the node tests: traits in a plain object, event
// listeners kept per event, custom messages sent recorded in `sent`.

/** @param {Record<string, any>} values */
export function fakeModel(values) {
  const listeners = new Map();
  const sent = [];
  return {
    listeners,
    sent,
    get: (name) => values[name],
    set: (name, value) => {
      values[name] = value;
    },
    send: (content) => sent.push(content),
    on(event, fn) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
    },
    off(event, fn) {
      listeners.set(
        event,
        (listeners.get(event) ?? []).filter((f) => f !== fn),
      );
    },
    emit(event, ...args) {
      for (const fn of listeners.get(event) ?? []) fn(...args);
    },
    count: () => [...listeners.values()].reduce((n, fns) => n + fns.length, 0),
  };
}
