import { decodeSummary } from '../../lib/decode/summary-decoder.js'
import { createSummary } from '../../lib/decode/summary.js'
import type { SessionEvent } from '../../lib/track/session-event.js'
import { Tracker, type TrackerOptions } from '../../lib/track/tracker.js'
import { frame, type FrameSpec } from './track-frames.js'

/** A tracker fed with built frames at given times (seconds); collects its events. */
export function trackerHarness(opts: TrackerOptions = {}) {
  const events: SessionEvent[] = []
  const tracker = new Tracker((e) => events.push(e), opts)
  const s = createSummary()
  const feed = (t: number, f: FrameSpec) => {
    const data = frame(f)
    decodeSummary(1, data, s, false)
    tracker.packet(s, data, Math.round(t * 1e6))
  }
  return { events, tracker, feed, states: () => events.map((e) => e.state) }
}
