import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixtures, freePort, hasCommand, ipcEndpoint, runTool, startTool, tempDir, waitFor } from './helpers/env.js'
import { startRecv } from './helpers/pipeline.js'

const scrape = async (port: number, path = '/metrics') => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() }
}
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"/]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)

function promtoolOk(t: { is(a: unknown, b: unknown, m?: string): void; log(m: string): void }, text: string): void {
  if (!hasCommand('promtool')) { t.log('promtool is not installed (Debian: prometheus): lint skipped'); return }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  t.is(r.status, 0, r.stdout + r.stderr)
}

test('--metrics on send, recv, track and plugin: counters and per-sender series as Prometheus text that promtool accepts', async (t) => {
  const { dir, cleanup } = tempDir('pzp-metrics-')
  t.teardown(cleanup)
  const [pr, ps, pt, pp] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, join(dir, 'out.pcap'), '--metrics', `127.0.0.1:${pr}`])
  const pcap = readFileSync(join(fixtures, 'tcpdump', 'LINKTYPE_IPV4.pcap'))
  // A sender reading a pipe stays up to be scraped.
  const send = startTool('send', ['-', ep, '--sensor-id', 'metrics-test', '--metrics', `127.0.0.1:${ps}`], { stdio: ['pipe', 'pipe', 'pipe'] })
  const track = startTool('track', ['-', '--metrics', `127.0.0.1:${pt}`], { stdio: ['pipe', 'pipe', 'pipe'] })
  const plugin = startTool('plugin', ['-', 'jsonl', '--out', join(dir, 'ev.jsonl'), '--spool-dir', join(dir, 'spool'), '--metrics', `127.0.0.1:${pp}`], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(async () => { await Promise.all([recv, send, track, plugin].map((x) => x.stop('SIGKILL'))) })
  send.child.stdin!.write(pcap)
  track.child.stdin!.write(pcap)
  plugin.child.stdin!.write(runTool('track', ['-'], pcap).stdout.toString().split('\n')[0] + '\n')

  const r = await waitFor(async () => { const m = await scrape(pr); return value(m.text, 'pcap_zmq_recv_packets_written_total') === 1 ? m : undefined }, 30000, 'recv to count the packet')
  t.regex(r!.type, /^text\/plain; version=0\.0\.4/)
  t.is(value(r!.text, 'pcap_zmq_recv_sender_packets_total{sender="' + `${(await import('node:os')).hostname()}/metrics-test` + '"}'), 1)
  t.regex(r!.text, /^process_cpu_seconds_total /m)
  promtoolOk(t, r!.text)
  const s = await waitFor(async () => { const m = await scrape(ps); return value(m.text, 'pcap_zmq_send_packets_sent_total') === 1 ? m : undefined }, 30000, 'send to count the delivery')
  t.is(value(s!.text, 'pcap_zmq_send_packets_in_total'), 1)
  promtoolOk(t, s!.text)
  const tr = await waitFor(async () => { const m = await scrape(pt); return value(m.text, 'pcap_zmq_track_packets_total') === 1 ? m : undefined }, 30000, 'track to count the packet')
  t.is(value(tr!.text, 'pcap_zmq_track_live'), 1)
  promtoolOk(t, tr!.text)
  const pl = await waitFor(async () => { const m = await scrape(pp); return value(m.text, 'pcap_zmq_plugin_delivered_total') === 1 ? m : undefined }, 30000, 'plugin to deliver the event')
  promtoolOk(t, pl!.text)
  t.is((await scrape(pr, '/')).status, 404)
})

test('a bad --metrics address is one line and exit 2; a busy one is one line and exit 1', async (t) => {
  const bad = runTool('recv', ['ipc:///tmp/pzp-never', '/dev/null', '--metrics', 'localhost'])
  t.is(bad.status, 2)
  t.regex(bad.stderr, /--metrics expects HOST:PORT/)
  t.is(bad.stderr.trim().split('\n').length, 1)
  const port = await freePort()
  const first = await startRecv([ipcEndpoint(), '/dev/null', '--metrics', `127.0.0.1:${port}`])
  t.teardown(async () => { await first.stop('SIGKILL') })
  const busy = runTool('recv', [ipcEndpoint(), '/dev/null', '--metrics', `127.0.0.1:${port}`])
  t.is(busy.status, 1)
  t.regex(busy.stderr, /--metrics 127\.0\.0\.1:\d+: cannot listen: address already in use/)
})
