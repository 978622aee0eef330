/**
 * High-water marks from byte budgets. libzmq bounds queues in messages only (ZMQ_SNDHWM,
 * ZMQ_RCVHWM), and our messages range from a few hundred bytes to MAX_BATCH_MESSAGE, so a
 * count chosen for typical messages lets a peer that stops reading pin thousands of the largest.
 */

/**
 * What a PUB may hold for one subscriber that stopped reading (recv --publish, track --publish).
 * A real subscriber never gets near it: its own I/O thread drains our queue into its receive
 * queue whether or not its application keeps up.
 */
export const PUB_QUEUE_BYTES = 256 << 20

/**
 * Largest frame a PUB accepts from subscribers: only subscriptions come that way, and ours
 * subscribe to everything (a zero-length topic). Without a bound a subscriber can stream a
 * frame claiming gigabytes into it, as into any receiving socket.
 */
export const SUBSCRIPTION_MAX = 4096

/**
 * ZMQ_SNDHWM for messages of at most `maxMessage` bytes within `budget` bytes per peer: the
 * pipe holds hwm messages and the peer's engine one more it is writing out, so (hwm + 1) x max
 * stays within the budget. Worst case per subscriber that never reads: `budget`; subscribers
 * that stop at the same time share the messages, ones that stop at different times do not.
 */
export function hwmForBudget(budget: number, maxMessage: number): number {
  return Math.max(1, Math.floor(budget / maxMessage) - 1)
}
