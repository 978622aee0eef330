import test from 'ava'
import { createShaper, defaultWindow } from '../lib/wire/shaper.js'

const MiB = 1048576

/** Feeds `rate` bytes/s in 1000-byte packets for `seconds` of synthetic time. */
function feed(shaper: ReturnType<typeof createShaper>, clock: { now: number }, rate: number, seconds: number) {
  let sent = 0
  let dropped = 0
  const perPacketMs = (1000 / rate) * 1000
  const n = Math.round((rate * seconds) / 1000)
  for (let i = 0; i < n; i++) {
    clock.now += perPacketMs
    if (shaper.admit(1000)) sent += 1000
    else dropped += 1000
  }
  return { sent, dropped }
}

test('below lwm: sent as is; above lwm: compressed; above hwm: the excess is dropped', (t) => {
  const clock = { now: 0 }
  const s = createShaper({ lwm: 1 * MiB, hwm: 5 * MiB, window: defaultWindow(1, 5) * MiB }, () => clock.now)
  feed(s, clock, 0.5 * MiB, 40)
  t.is(s.mode, 'send')
  t.false(s.compress)
  feed(s, clock, 3 * MiB, 10)
  t.is(s.mode, 'compress')
  t.true(s.compress)
  t.true(Math.abs(s.rate - 3 * MiB) < 0.05 * MiB)
  feed(s, clock, 20 * MiB, 2) // let it notice
  t.is(s.mode, 'drop')
  const { sent, dropped } = feed(s, clock, 20 * MiB, 4)
  // Up to hwm still goes out: 5 of every 20 MiB/s, within a window's rounding.
  t.true(Math.abs(sent / (sent + dropped) - 0.25) < 0.05, `sent fraction ${sent / (sent + dropped)}`)
  feed(s, clock, 0.2 * MiB, 120)
  t.is(s.mode, 'send')
})

test('the rate is recomputed only once per window of bytes', (t) => {
  const clock = { now: 0 }
  const s = createShaper({ lwm: 1 * MiB, hwm: 0, window: 4 * MiB }, () => clock.now)
  feed(s, clock, 10 * MiB, 0.3) // 3 MiB: window not full yet
  t.is(s.mode, 'send')
  feed(s, clock, 10 * MiB, 0.2)
  t.is(s.mode, 'compress')
})

test('watermarks at 0 disable rate control', (t) => {
  const clock = { now: 0 }
  const s = createShaper({ lwm: 0, hwm: 0, window: 1 }, () => clock.now)
  t.deepEqual(feed(s, clock, 100 * MiB, 1), { sent: Math.round((100 * MiB) / 1000) * 1000, dropped: 0 })
  t.is(s.mode, 'send')
})

test('defaults follow the original: window = max(2 x hwm, 4 x lwm)', (t) => {
  t.is(defaultWindow(1, 5), 10)
  t.is(defaultWindow(4, 5), 16)
})
