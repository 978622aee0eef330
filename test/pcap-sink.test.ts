import test, { type ExecutionContext } from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { openSink, type Sink, type SinkOptions } from '../lib/pcap/sink.js'
import { createCaptureReader } from '../lib/pcap/reader.js'
import { pcapHeader, pcapngInterface, pcapngSectionHeader, writePcapRecordHeader } from '../lib/pcap/writer.js'
import { isRoot, ROOT_SKIP, tempDir, waitFor } from './helpers/env.js'

const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('sink tests on small mounts', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

const SIZE = 500
let seq = 0
/** `n` RAW IPv4 packets of SIZE bytes as pcap records, numbered across the file. */
function records(n: number): Buffer {
  const b = Buffer.alloc(n * (16 + SIZE))
  for (let i = 0; i < n; i++) {
    const o = i * (16 + SIZE)
    writePcapRecordHeader(b, o, 1700000000, 0, SIZE, SIZE)
    b[o + 16] = 0x45
    b.writeUInt16BE(SIZE, o + 18)
    b.writeUInt32BE(seq++, o + 20)
  }
  return b
}

/** Packets of a capture and why reading stopped early ('' when it parsed to the end). */
function parse(src: string | Buffer): { packets: number; linktype: number; error: string } {
  let linktype = -1
  const r = createCaptureReader((p) => { linktype = p.linktype })
  r.push(typeof src === 'string' ? readFileSync(src) : src)
  r.end()
  return { packets: r.stats.packets, linktype, error: r.stats.error }
}

function tcpdumpReads(path: string): { status: number | null; packets: number; stderr: string } {
  const r = spawnSync('tcpdump', ['-n', '-r', path], { encoding: 'utf8' })
  return { status: r.status, packets: r.stdout.split('\n').filter(Boolean).length, stderr: r.stderr }
}

function sinkOpts(path: string, over: Partial<SinkOptions> = {}): SinkOptions {
  return {
    path, format: 'pcap', preamble: () => pcapHeader(101), rotateBytes: 0, rotateSeconds: 0, rotateCount: 0,
    maxPending: 64 << 20, log: () => {}, ...over,
  }
}

function sinkIn(t: ExecutionContext, opts: SinkOptions): Sink {
  const sink = openSink(opts)
  t.teardown(() => sink.close())
  return sink
}

/** A tmpfs of `size` on a fresh directory, unmounted (lazily if still busy) and removed in teardown. */
function smallMount(t: ExecutionContext, size: string, extra = ''): string {
  const { dir, cleanup } = tempDir('pzp-mnt-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra}`, 'tmpfs', dir])
  t.teardown(() => {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir])
    cleanup()
  })
  return dir
}

/** Writes `path` until the file system is full, or `limit` bytes. */
function fill(path: string, limit = Infinity): void {
  const fd = openSync(path, 'w')
  const block = Buffer.alloc(4096)
  try {
    for (let n = 0; n < limit; n += block.length) writeSync(fd, block)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
}

test('a path that cannot be written is one user error naming it, found without creating or truncating anything', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const err = t.throws(() => openSink(sinkOpts('/missing/dir/out.pcap')))
  t.is(err?.message, 'cannot write /missing/dir/out.pcap: no such file or directory')
  t.is((err as { code?: string }).code, 'EOUTPUT')
  t.is(t.throws(() => openSink(sinkOpts(dir)))?.message, `cannot write ${dir}: is a directory`)
  // A -G name is checked as the first file it makes.
  t.regex(t.throws(() => openSink(sinkOpts(join(dir, 'no', 'x-%H.pcap'), { rotateSeconds: 60 })))?.message ?? '', /^cannot write .*\/no\/x-\d\d\.pcap: no such file or directory$/)
  const kept = join(dir, 'kept.pcap')
  writeFileSync(kept, 'yesterday')
  const fresh = join(dir, 'fresh.pcap')
  const a = openSink(sinkOpts(kept))
  const b = openSink(sinkOpts(fresh))
  t.is(readFileSync(kept, 'utf8'), 'yesterday', 'checking the path truncates nothing')
  t.false(existsSync(fresh), 'checking the path leaves no file behind')
  a.start()
  b.start()
  t.deepEqual(readFileSync(kept), pcapHeader(101))
  t.deepEqual(readFileSync(fresh), pcapHeader(101))
  await Promise.all([a.close(), b.close()])
})

rootTest('a read-only file system is reported the same way', (t) => {
  const dir = smallMount(t, '64k', ',ro')
  t.is(t.throws(() => openSink(sinkOpts(join(dir, 'out.pcap'))))?.message, `cannot write ${join(dir, 'out.pcap')}: read-only file system`)
})

test('every output is a valid capture: header at open when the link type is known, and one at close when no packet came', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const cases: Array<[string, Partial<SinkOptions>, number, Buffer]> = [
    ['known.pcap', { preamble: () => pcapHeader(1), linktype: 1 }, 24, pcapHeader(1)],
    ['auto.pcap', { preamble: () => undefined }, 0, pcapHeader(101)],
    ['auto-ether.pcap', { preamble: () => undefined, linktype: 1 }, 0, pcapHeader(1)],
  ]
  const shb = pcapngSectionHeader('pcap-zmq-recv')
  cases.push(['empty.pcapng', { format: 'pcapng', preamble: () => shb }, shb.length,
    Buffer.concat([shb, pcapngInterface(101, 'none', 'no packets were written to this file')])])
  for (const [name, over, atOpen, atClose] of cases) {
    const path = join(dir, name)
    const sink = openSink(sinkOpts(path, over))
    sink.start()
    t.is(statSync(path).size, atOpen, name)
    await sink.close()
    t.deepEqual(readFileSync(path), atClose, name)
    const r = tcpdumpReads(path)
    t.is(r.status, 0, `${name}: ${r.stderr}`)
    t.is(r.packets, 0)
  }
})

test('-C and -G rotation: every file, also one rotated before its first packet, starts with a header and parses to the end', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const bySize = sinkIn(t, sinkOpts(join(dir, 'size.pcap'), { rotateBytes: 3000 }))
  let written = 0
  for (let i = 0; i < 10; i++) {
    t.true(await bySize.write(records(2), 2))
    written += 2
  }
  await bySize.close()
  const sizeFiles = readdirSync(dir).filter((f) => f.startsWith('size.pcap')).sort()
  t.true(sizeFiles.length >= 3, sizeFiles.join())
  t.is(sizeFiles.reduce((n, f) => n + parse(join(dir, f)).packets, 0), written)
  for (const f of sizeFiles) t.like(parse(join(dir, f)), { error: '', linktype: 101 }, f)

  // The link type is unknown until the first packet, and the first file is rotated before it came.
  let linktype: number | undefined
  const byTime = sinkIn(t, sinkOpts(join(dir, 'time.pcap'), { rotateSeconds: 0.2, rotateCount: 3, preamble: () => (linktype === undefined ? undefined : pcapHeader(linktype)) }))
  byTime.start()
  const opened = Date.now()
  await waitFor(() => Date.now() - opened > 250, 5000, 'the rotation time')
  linktype = 101
  t.true(await byTime.write(records(3), 3))
  await byTime.close()
  t.deepEqual(readFileSync(join(dir, 'time.pcap0')), pcapHeader(101))
  t.like(parse(join(dir, 'time.pcap1')), { packets: 3, error: '' })
  for (const f of ['time.pcap0', 'time.pcap1']) t.is(tcpdumpReads(join(dir, f)).status, 0, f)
})

rootTest('ENOSPC: the file is cut back to its last whole chunk, packets are counted lost, and a fresh file takes over once there is room', async (t) => {
  const dir = smallMount(t, '128k')
  const filler = join(dir, 'filler')
  fill(filler, 96 << 10)
  const logs: string[] = []
  const out = join(dir, 'out.pcap')
  // The default retry interval (1 s) leaves no doubt that the write right after a failure is not retried.
  const sink = sinkIn(t, sinkOpts(out, { log: (m) => logs.push(m) }))
  sink.start()
  let okPackets = 0
  let lostPackets = 0
  let chunks = 0
  while (sink.stats.writeErrors === 0 && chunks < 100) {
    chunks += 1
    if (await sink.write(records(10), 10)) okPackets += 10
    else lostPackets += 10
  }
  t.is(sink.stats.writeErrors, 1)
  t.true(okPackets > 0 && lostPackets === 10, `${okPackets} written, ${lostPackets} lost`)
  // Cut back: the header and the whole chunks before the failure, nothing of the failed one.
  t.is(statSync(out).size, 24 + (okPackets / 10) * 10 * (16 + SIZE))
  t.like(parse(out), { packets: okPackets, error: '' })
  t.regex(logs.join('\n'), /out\.pcap: write failed: no space left on device \(write_errors=1 write_failed=10\); packets are dropped/)
  // While the output is failing, packets are counted, not attempted and not kept.
  t.false(await sink.write(records(10), 10))
  lostPackets += 10
  t.is(sink.stats.writeErrors, 1)
  t.is(sink.stats.writeFailed, lostPackets)
  const sizeAtFailure = statSync(out).size

  rmSync(filler)
  await waitFor(async () => {
    if (await sink.write(records(10), 10)) return true
    lostPackets += 10
    return false
  }, 10000, 'writing to resume')
  okPackets += 10
  for (let i = 0; i < 3; i++) t.true(await sink.write(records(10), 10))
  okPackets += 30
  await sink.close()
  t.is(sink.stats.writeFailed, lostPackets)
  t.is(statSync(out).size, sizeAtFailure, 'a file that saw an error is not written to again')
  t.regex(logs.join('\n'), /out\.pcap1: writing again after \d+\.\d s; \d+ packets were lost meanwhile \(write_failed\)/)
  const files = readdirSync(dir).sort()
  t.deepEqual(files, ['out.pcap', 'out.pcap1'])
  let total = 0
  for (const f of files) {
    const p = parse(join(dir, f))
    t.is(p.error, '', f)
    const r = tcpdumpReads(join(dir, f))
    t.is(r.status, 0, `${f}: ${r.stderr}`)
    t.is(r.packets, p.packets, f)
    total += p.packets
  }
  t.is(total, okPackets)
})

rootTest('ENOSPC on a file that holds no packet yet: it is started over, not left without its header', async (t) => {
  const dir = smallMount(t, '64k')
  const filler = join(dir, 'filler')
  fill(filler)
  const out = join(dir, 'out.pcapng')
  const shb = pcapngSectionHeader('pcap-zmq-recv')
  const idb = pcapngInterface(101, 'all senders', 'test')
  let idbs: Buffer[] = []
  const sink = sinkIn(t, sinkOpts(out, { format: 'pcapng', retryMs: 100, preamble: () => Buffer.concat([shb, ...idbs]) }))
  sink.start()
  t.is(sink.stats.writeErrors, 1, 'not even the section header fits')
  t.is(statSync(out).size, 0)
  idbs = [idb]
  // The interface arrives with a chunk that is lost: the fresh start must carry it anyway.
  t.false(await sink.write(Buffer.alloc(0), 0, idb))
  rmSync(filler)
  await waitFor(async () => (await sink.write(Buffer.alloc(0), 0)) && sink.stats.files === 1 && statSync(out).size > 0, 10000, 'a restart of the same file')
  await sink.close()
  t.deepEqual(readFileSync(out), Buffer.concat([shb, idb]))
  t.deepEqual(readdirSync(dir), ['out.pcapng'])

  // Shutting down while still full: a file that cannot get a header is removed, not left broken.
  fill(filler)
  const stuck = join(dir, 'stuck.pcap')
  const s2 = openSink(sinkOpts(stuck, { preamble: () => undefined }))
  s2.start()
  t.true(existsSync(stuck))
  await s2.close()
  t.false(existsSync(stuck))

  // Room for a header but not for the first chunk: the header stays, a valid empty capture.
  const room = smallMount(t, '64k')
  fill(join(room, 'filler'), 60 << 10)
  let known = false
  const s3 = sinkIn(t, sinkOpts(join(room, 'out.pcap'), { preamble: () => (known ? pcapHeader(101) : undefined) }))
  s3.start()
  known = true
  t.false(await s3.write(records(10), 10))
  t.deepEqual(readFileSync(join(room, 'out.pcap')), pcapHeader(101))
  t.is(s3.stats.writeFailed, 10)
})

test('FIFO: a reader that opens it while another one holds it gets a pipe of its own and starts with a header', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const fifo = join(dir, 'snort.pcap')
  execFileSync('mkfifo', ['-m', '0640', fifo])
  const logs: string[] = []
  const sink = sinkIn(t, sinkOpts(fifo, { log: (m) => logs.push(m) }))
  const reader = (name: string) => {
    const chunks: Buffer[] = []
    const s = createReadStream(fifo, { highWaterMark: 700 })
    s.on('data', (c) => chunks.push(c as Buffer))
    const ended = new Promise<void>((resolve) => s.on('close', () => resolve()))
    t.teardown(() => { s.destroy() })
    return { name, stream: s, ended, bytes: () => Buffer.concat(chunks) }
  }
  const a = reader('a')
  sink.start()
  await waitFor(() => sink.stats.opens === 1, 5000, 'the first reader')
  await waitFor(() => a.bytes().length >= 24, 5000, 'the header before any packet')
  t.deepEqual(a.bytes(), pcapHeader(101))
  t.true(await sink.write(records(20), 20))
  await waitFor(() => a.bytes().length > 24, 5000, 'packets at the first reader')
  // b opens now and must not share a's pipe; a then leaves with data unread.
  const b = reader('b')
  a.stream.pause()
  t.true(await sink.write(records(20), 20))
  a.stream.destroy()
  await waitFor(() => sink.stats.opens === 2, 5000, 'the second reader to be attached')
  t.true(await sink.write(records(5), 5))
  await waitFor(() => parse(b.bytes()).packets === 5, 5000, 'packets at the second reader')
  const got = b.bytes()
  t.deepEqual(got.subarray(0, 24), pcapHeader(101))
  t.like(parse(got), { packets: 5, error: '' })
  await sink.close()
  await b.ended
  const st = statSync(fifo)
  t.true(st.isFIFO())
  t.is(st.mode & 0o7777, 0o640, 'the replacement FIFO keeps the mode')
  t.is(sink.stats.readerGone, 1)
  t.deepEqual(readdirSync(dir), ['snort.pcap'])
  t.true(logs.some((l) => /reader went away/.test(l)))
})

rootTest('FIFO in a directory we cannot write: the FIFO is kept, said once, and readers still get a header', async (t) => {
  const dir = smallMount(t, '64k')
  const fifo = join(dir, 'snort.pcap')
  execFileSync('mkfifo', [fifo])
  execFileSync('mount', ['-o', 'remount,ro', dir])
  const logs: string[] = []
  const sink = sinkIn(t, sinkOpts(fifo, { log: (m) => logs.push(m) }))
  const chunks: Buffer[] = []
  const s = createReadStream(fifo)
  s.on('data', (c) => chunks.push(c as Buffer))
  t.teardown(() => { s.destroy() })
  sink.start()
  await waitFor(() => sink.stats.opens === 1, 5000, 'the reader')
  t.true(await sink.write(records(4), 4))
  await waitFor(() => parse(Buffer.concat(chunks)).packets === 4, 5000, 'the packets')
  t.deepEqual(Buffer.concat(chunks).subarray(0, 24), pcapHeader(101))
  t.is(logs.filter((l) => /cannot put a fresh FIFO in its place \(read-only file system\)/.test(l)).length, 1)
  await sink.close()
})
