import test, { type ExecutionContext } from 'ava'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { pcapHeader, writePcapRecordHeader } from '../lib/pcap/writer.js'
import { ipcEndpoint, isRoot, ROOT_SKIP, runTool, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { counters, readPackets, startRecv } from './helpers/pipeline.js'

const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('output tests on small mounts', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

const SIZE = 500

/**
 * pcap-zmq-send - EP fed from here with numbered RAW IPv4 packets of SIZE bytes, `perTick` every
 * `everyMs`: traffic that keeps flowing for as long as a test needs it.
 */
function traffic(t: ExecutionContext, ep: string, perTick: number, everyMs: number) {
  const send = startTool('send', ['-', ep], { stdio: ['pipe', 'ignore', 'pipe'] })
  let timer: NodeJS.Timeout | undefined
  t.teardown(() => {
    clearInterval(timer)
    return send.stop('SIGKILL')
  })
  const stdin = send.child.stdin!
  stdin.on('error', () => {})
  stdin.write(pcapHeader(101))
  let seq = 0
  const tick = () => {
    const b = Buffer.alloc(perTick * (16 + SIZE))
    for (let i = 0; i < perTick; i++) {
      const o = i * (16 + SIZE)
      writePcapRecordHeader(b, o, 1700000000 + Math.floor(seq / 1000), (seq % 1000) * 1000, SIZE, SIZE)
      b[o + 16] = 0x45
      b.writeUInt16BE(SIZE, o + 18)
      b.writeUInt32BE(seq++, o + 20)
    }
    stdin.write(b)
  }
  return {
    run() { timer ??= setInterval(tick, everyMs) },
    /** Stops feeding, lets the sender finish and returns how many packets it sent. */
    async end(): Promise<number> {
      clearInterval(timer)
      stdin.end()
      await send.exited
      return counters(send.stderr()).packets_sent ?? -1
    },
  }
}

const usr1 = (recv: Tool) => (recv.child.kill('SIGUSR1'), counters(recv.stderr(), 'counters'))

function tcpdumpReads(path: string): { status: number | null; packets: number; stderr: string } {
  const r = spawnSync('tcpdump', ['-n', '-r', path], { encoding: 'utf8' })
  return { status: r.status, packets: r.stdout.split('\n').filter(Boolean).length, stderr: r.stderr }
}

/** A tmpfs of `size` on a fresh directory, unmounted (lazily if still busy) and removed in teardown. */
function smallMount(t: ExecutionContext, size: string): string {
  const { dir, cleanup } = tempDir('pzp-mnt-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  t.teardown(() => {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir])
    cleanup()
  })
  return dir
}

function fill(path: string, limit: number): void {
  const fd = openSync(path, 'w')
  try {
    for (let n = 0; n < limit; n += 4096) writeSync(fd, Buffer.alloc(4096))
  } finally {
    closeSync(fd)
  }
}

test('an output that cannot be written stops pcap-zmq-recv at start: one line, exit 1, checked before binding', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  // 10.255.255.1 cannot be bound here: reporting the output proves it was checked first.
  const unbindable = 'tcp://10.255.255.1:1'
  const cases: Array<[string, string]> = [
    ['/missing/dir/out.pcap', 'pcap-zmq-recv: cannot write /missing/dir/out.pcap: no such file or directory'],
    [dir, `pcap-zmq-recv: cannot write ${dir}: is a directory`],
  ]
  for (const [out, line] of cases) {
    const r = runTool('recv', [unbindable, out], '', 10000)
    t.is(r.status, 1, r.stderr)
    t.is(r.stderr, `${line}\n`)
  }
  // The endpoint being the mistake costs the existing file nothing, and leaves no new one behind.
  const kept = join(dir, 'kept.pcap')
  writeFileSync(kept, 'yesterday')
  for (const out of [kept, join(dir, 'new.pcap')]) {
    const r = runTool('recv', [unbindable, out], '', 10000)
    t.is(r.status, 1)
    t.regex(r.stderr, /^pcap-zmq-recv: cannot bind tcp:\/\/10\.255\.255\.1:1: /)
  }
  t.is(readFileSync(kept, 'utf8'), 'yesterday')
  t.false(existsSync(join(dir, 'new.pcap')))
})

test('-G: the first file, rotated before any packet came, and an output that never got one are valid captures', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, join(dir, 'g-%H%M%S.pcap'), '-G', '1'])
  t.teardown(() => recv.stop('SIGKILL'))
  const idle = await startRecv([ipcEndpoint(), join(dir, 'idle.pcapng'), '--format', 'pcapng'])
  t.teardown(() => idle.stop('SIGKILL'))
  const started = Date.now()
  await waitFor(() => Date.now() - started > 1200, 5000, 'the rotation time')
  const gen = traffic(t, ep, 5, 20)
  gen.run()
  await waitFor(() => (usr1(recv).packets_written ?? 0) >= 5, 20000, 'packets in the second file')
  const sent = await gen.end()
  await waitFor(() => usr1(recv).packets_in === sent, 20000, `${sent} packets at the receiver`)
  await recv.stop('SIGINT')
  await idle.stop('SIGINT')
  const files = readdirSync(dir).sort()
  t.true(files.length >= 3, files.join())
  let total = 0
  for (const f of files) {
    const r = tcpdumpReads(join(dir, f))
    t.is(r.status, 0, `${f}: ${r.stderr}`)
    total += r.packets
  }
  t.is(tcpdumpReads(join(dir, files.find((f) => f.startsWith('g-'))!)).packets, 0, 'the first -G file holds no packet')
  t.is(total, sent)
  t.is(counters(recv.stderr()).packets_written, sent)
})

rootTest('ENOSPC: write errors are counted, packets lost meanwhile are not written, and a fresh file takes over once there is room', async (t) => {
  const dir = smallMount(t, '256k')
  const filler = join(dir, 'filler')
  fill(filler, 200 << 10)
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, join(dir, 'out.pcap')])
  t.teardown(() => recv.stop('SIGKILL'))
  const gen = traffic(t, ep, 5, 20)
  gen.run()
  await waitFor(() => (usr1(recv).write_failed ?? 0) > 0, 30000, 'a write error on the full mount')
  t.regex(recv.stderr(), /out\.pcap: write failed: no space left on device \(write_errors=1 write_failed=\d+\); packets are dropped and counted as write_failed/)
  // Cut back to its last whole chunk (or its header, when the first chunk was already too big):
  // readable while the receiver goes on.
  const first = tcpdumpReads(join(dir, 'out.pcap'))
  t.is(first.status, 0, first.stderr)
  t.notRegex(first.stderr, /truncated/)
  await waitFor(() => (usr1(recv).write_errors ?? 0) >= 2, 30000, 'a retry while the mount is still full')
  rmSync(filler)
  const resumedFrom = usr1(recv).packets_written ?? 0
  await waitFor(() => /writing again after/.test(recv.stderr()) && (usr1(recv).packets_written ?? 0) >= resumedFrom + 50, 30000, 'writing to resume')
  const sent = await gen.end()
  await waitFor(() => usr1(recv).packets_in === sent, 30000, `${sent} packets at the receiver`)
  await recv.stop('SIGINT')
  t.is(recv.child.exitCode, 0)
  const c = counters(recv.stderr())
  t.true(c.write_errors! >= 2)
  t.is(c.packets_in, c.packets_written! + c.write_failed!)
  t.is(c.no_reader, 0)
  const files = readdirSync(dir).sort()
  t.true(files.length >= 2 && files[0] === 'out.pcap' && files.every((f) => /^out\.pcap\d*$/.test(f)), files.join())
  let total = 0
  for (const f of files) {
    const r = tcpdumpReads(join(dir, f))
    t.is(r.status, 0, `${f}: ${r.stderr}`)
    t.notRegex(r.stderr, /truncated/, f)
    total += r.packets
  }
  t.is(total, c.packets_written)
})

rootTest('stdout on a full disk: the receiver stops with one line and exit 1', async (t) => {
  const dir = smallMount(t, '64k')
  fill(join(dir, 'filler'), 48 << 10)
  const ep = ipcEndpoint()
  const fd = openSync(join(dir, 'out.pcap'), 'w')
  const recv = startTool('recv', [ep, '-', '--debug'], { stdio: ['ignore', fd, 'pipe'] })
  closeSync(fd)
  t.teardown(() => recv.stop('SIGKILL'))
  await waitFor(() => recv.stderr().includes('listening on'), 30000, 'pcap-zmq-recv to bind')
  const gen = traffic(t, ep, 5, 20)
  gen.run()
  await waitFor(() => recv.child.exitCode !== null, 30000, 'pcap-zmq-recv to stop')
  t.is(recv.child.exitCode, 1, recv.stderr())
  t.regex(recv.stderr(), /\npcap-zmq-recv: cannot write stdout: no space left on device\n$/)
  t.true(counters(recv.stderr()).write_errors! >= 1)
})

test('FIFO: ten readers restarted with no gap while packets flow each start with a header and parse to the end', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const fifo = join(dir, 'snort.pcap')
  execFileSync('mkfifo', [fifo])
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, fifo])
  t.teardown(() => recv.stop('SIGKILL'))
  const gen = traffic(t, ep, 10, 5)
  gen.run()
  // What a supervisor does to Snort: the next reader starts the moment the previous one exits.
  const script = `for i in 1 2 3 4 5 6 7 8 9 10; do tcpdump -c 20 -r '${fifo}' -w '${dir}/out'$i.pcap 2>>'${dir}/tcpdump.err' || echo $i >> '${dir}/failed'; done`
  const readers = spawn('sh', ['-c', script], { stdio: 'ignore' })
  t.teardown(() => { if (readers.exitCode === null) readers.kill('SIGKILL') })
  await waitFor(() => readers.exitCode !== null, 90000, 'ten readers')
  await gen.end()
  await recv.stop('SIGINT')
  t.false(existsSync(join(dir, 'failed')), existsSync(join(dir, 'failed')) ? readFileSync(join(dir, 'tcpdump.err'), 'utf8') : '')
  for (let i = 1; i <= 10; i++) {
    const out = join(dir, `out${i}.pcap`)
    const pkts = readPackets(out)
    t.is(pkts.length, 20, `reader ${i}`)
    // Whole packets of the stream, in order: no bytes from the middle of another reader's stream.
    const seqs = pkts.map((p) => (t.is(p.data.length, SIZE), t.is(p.data[0], 0x45), p.data.readUInt32BE(4)))
    t.true(seqs.every((s, k) => k === 0 || s > seqs[k - 1]!), `reader ${i}: ${seqs.join()}`)
  }
  const c = counters(recv.stderr())
  t.true(c.reader_reopens! >= 9, recv.stderr())
  t.deepEqual(readdirSync(dir).filter((f) => !/^out\d+\.pcap$/.test(f)).sort(), ['snort.pcap', 'tcpdump.err'])
})
