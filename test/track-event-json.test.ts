import test from 'ava'
import { eventJson, type SessionEvent } from '../lib/track/session-event.js'
import { trackerHarness } from './helpers/track-run.js'

test('eventJson writes exactly what JSON.stringify writes, for every kind of event and hostile names', (t) => {
  const h = trackerHarness()
  const T0 = 1_700_000_000
  // TCP with an HTTP Host that needs escaping, IPv6 UDP, ICMP (null ports), a sensor name with quotes.
  const host = 'we"ird\\\\host\u0001\u2028é.example'
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 40000, dport: 80, flags: 'S' })
  h.feed(T0 + 0.001, { src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 80, dport: 40000, flags: 'SA' })
  h.feed(T0 + 0.002, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 40000, dport: 80, flags: 'PA', payload: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n` })
  h.feed(T0 + 0.003, { src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 80, dport: 40000, flags: 'R' })
  h.feed(T0 + 1, { src: '2001:db8::1', dst: '2001:db8::2', proto: 'udp', sport: 5000, dport: 53, payload: 'x' })
  h.feed(T0 + 2, { src: '10.0.0.1', dst: '10.0.0.9', proto: 'icmp', icmpType: 8, icmpId: 7 })
  h.tracker.sensorId('edge "7"')
  h.tracker.flush()
  const events: SessionEvent[] = h.events
  t.true(events.length >= 8)
  // The Host header as the decoder took it still holds characters JSON must escape.
  t.true(events.some((e) => e.payload !== null && 'host' in e.payload && /["\\]/.test(e.payload.host)), JSON.stringify(events.map((e) => e.payload)))
  for (const e of events) t.is(eventJson(e), JSON.stringify(e))
  for (const e of events) t.is(eventJson({ ...e, sensor: 'edge "7"\n' }), JSON.stringify({ ...e, sensor: 'edge "7"\n' }))
  for (const e of events) t.deepEqual(JSON.parse(eventJson(e)), e)
})
