// The smallest plugin: accepts every event and does nothing (used by the benchmark).
export function receiver(_event) {}
