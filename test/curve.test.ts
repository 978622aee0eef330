import test from 'ava'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Dealer } from 'zeromq'
import { createBatchBuilder } from '../lib/wire/batch.js'
import { curveClientOptions, PROOF_LENGTH, senderProof, type CurveSetup } from '../lib/wire/curve.js'
import { z85Decode, z85Encode } from '../lib/wire/z85.js'
import { parseCertificate, readCertificate } from '../lib/wire/zcert.js'
import { freePort, runTool, sleep, startTool, tempDir, waitFor } from './helpers/env.js'
import { askCounters, counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'
import { ethernet, ipv4, udp } from './helpers/packet-builder.js'

/** A raw-IP (or Ethernet) pcap of `n` distinct UDP packets, one millisecond apart. */
function pcap(n: number, port = 5000, eth = false): Buffer {
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(eth ? 1 : 101, 20)
  return Buffer.concat([h, ...Array.from({ length: n }, (_, i) => record(i, port, eth))])
}

function record(i: number, port: number, eth: boolean): Buffer {
  const ip = ipv4(17, udp(port, 53, Buffer.from(`packet ${i}`)), { src: '10.1.0.1', dst: '10.1.0.2' })
  const pkt = eth ? ethernet(0x0800, ip) : ip
  const r = Buffer.alloc(16)
  r.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), 0); r.writeUInt32LE((i % 1000) * 1000, 4)
  r.writeUInt32LE(pkt.length, 8); r.writeUInt32LE(pkt.length, 12)
  return Buffer.concat([r, pkt])
}

interface Keys { dir: string; allow: string; cleanup: () => void; key: (name: string) => string; pub: (name: string) => string }

/** server, two allowed senders (a: "gateway-a", b) and a rogue one, made by pcap-zmq-keygen. */
function keys(t: { teardown(f: () => void): void; is(a: unknown, b: unknown, m?: string): void }): Keys {
  const { dir, cleanup } = tempDir('pzp-curve-')
  t.teardown(cleanup)
  const allow = join(dir, 'allow')
  mkdirSync(allow)
  for (const [name, extra] of [['server', []], ['a', ['--cert-name', 'gateway-a']], ['b', []], ['rogue', []]] as const) {
    const r = runTool('keygen', [join(dir, name), ...extra])
    t.is(r.status, 0, r.stderr)
  }
  for (const n of ['a', 'b']) writeFileSync(join(allow, n), readFileSync(join(dir, n)))
  return { dir, allow, cleanup, key: (n) => join(dir, `${n}_secret`), pub: (n) => join(dir, n) }
}

/** pcap-zmq-recv with CURVE on its inlet, --publish and --buffer-interface, on loopback TCP. */
async function publishingRecv(t: { teardown(f: () => Promise<void>): void }, k: Keys) {
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()]
  const ep = `tcp://127.0.0.1:${p1}`
  const pubEp = `tcp://127.0.0.1:${p2}`
  const bufEp = `tcp://127.0.0.1:${p3}`
  const recv = await startRecv([ep, join(k.dir, 'out.pcap'), ...serverFlags(k), '--publish', pubEp, '--buffer-interface', bufEp])
  t.teardown(async () => { await recv.stop('SIGKILL') })
  return { ep, pubEp, bufEp, recv }
}

const serverFlags = (k: Keys) => ['--curve-key', k.key('server'), '--curve-allow', k.allow]
const clientFlags = (k: Keys, name: string) => ['--curve-key', k.key(name), '--curve-server', k.pub('server')]

test('Z85 matches ZeroMQ RFC 32 and refuses what is not Z85', (t) => {
  const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])
  t.is(z85Encode(bytes), 'HelloWorld')
  t.deepEqual(z85Decode('HelloWorld'), bytes)
  t.throws(() => z85Decode('Hello'.slice(0, 4)), { code: 'EZ85' })
  t.throws(() => z85Decode('Hell"'), { code: 'EZ85' })
  t.throws(() => z85Decode('%%%%%'), { code: 'EZ85' })
})

test('a certificate in czmq\'s zcert format is read as zauth reads it', (t) => {
  // The layout zcert_save writes; the keys are the example pair from ZeroMQ's zmq_curve(7).
  const text = [
    '#   ****  Generated on 2024-01-01 00:00:00 by CZMQ  ****',
    '#   ZeroMQ CURVE **Secret** Certificate',
    '#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.',
    '',
    'metadata',
    '    name = "ids-1"',
    '    email = ops@example.org',
    'curve',
    '    public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"',
    '    secret-key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"',
    '',
  ].join('\n')
  const cert = parseCertificate(text, 'ids-1_secret')
  t.is(cert.metadata.name, 'ids-1')
  t.is(cert.metadata.email, 'ops@example.org')
  t.is(z85Encode(cert.publicKey), 'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID')
  // The secret key is the X25519 scalar of that public key.
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: cert.secretKey!.toString('base64url'), x: cert.publicKey.toString('base64url') }, format: 'jwk' })
  t.is(createPublicKey(priv).export({ format: 'jwk' }).x, cert.publicKey.toString('base64url'))
  t.throws(() => parseCertificate('curve\n  public-key = "x"\n', 'bad'), { code: 'ECERT', message: /indentation/ })
  t.throws(() => parseCertificate('metadata\n    name = "x"\n', 'bad'), { code: 'ECERT', message: /no curve\/public-key/ })
  t.throws(() => parseCertificate('curve\n    public-key = "short"\n', 'bad'), { code: 'ECERT', message: /40 characters/ })
})

test('pcap-zmq-keygen writes a public and a 0600 secret certificate that belong together, and never overwrites', (t) => {
  const k = keys(t)
  const pub = readCertificate(k.pub('a'))
  const sec = readCertificate(k.key('a'))
  t.is(pub.secretKey, undefined)
  t.deepEqual(sec.publicKey, pub.publicKey)
  t.is(pub.metadata.name, 'gateway-a')
  t.is(statSync(k.key('a')).mode & 0o777, 0o600)
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: sec.secretKey!.toString('base64url'), x: sec.publicKey.toString('base64url') }, format: 'jwk' })
  t.is(createPublicKey(priv).export({ format: 'jwk' }).x, pub.publicKey.toString('base64url'))
  const again = runTool('keygen', [k.pub('a')])
  t.is(again.status, 2)
  t.regex(again.stderr, /exists: not overwriting/)
})

test('CURVE flag mistakes are one line and exit 2', (t) => {
  const k = keys(t)
  const cases: Array<[string, string[], RegExp]> = [
    ['send', ['-', 'tcp://127.0.0.1:1', '--curve-key', k.pub('a'), '--curve-server', k.pub('server')], /a public certificate; give the secret one/],
    ['send', ['-', 'tcp://127.0.0.1:1', '--curve-key', k.key('a')], /needs --curve-server/],
    ['send', ['-', 'tcp://127.0.0.1:1', '--curve-key', join(k.dir, 'nope'), '--curve-server', k.pub('server')], /nope: no such file/],
    ['recv', ['tcp://127.0.0.1:1', '/dev/null', '--curve-key', k.key('server')], /needs --curve-allow DIR/],
    ['recv', ['tcp://127.0.0.1:1', '/dev/null', '--curve-allow', k.allow], /--curve-allow needs --curve-key/],
    ['track', ['tcp://127.0.0.1:1', '--curve-key', k.key('a')], /needs --curve-server/],
    ['query', ['tcp://127.0.0.1:1', '--curve-server', k.pub('server')], /--curve-server needs --curve-key/],
  ]
  for (const [tool, args, re] of cases) {
    const r = runTool(tool, args, '')
    t.is(r.status, 2, `${tool} ${args.join(' ')}: ${r.stderr}`)
    t.regex(r.stderr, re)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

test('send -> recv with CURVE: the allowed sender delivers every packet under its certificate\'s name; no key, an unknown key or the wrong server key deliver nothing', async (t) => {
  const k = keys(t)
  const ep = `tcp://127.0.0.1:${await freePort()}`
  const out = join(k.dir, 'out.pcap')
  const recv = await startRecv([ep, out, ...serverFlags(k), '--format', 'pcapng'])
  t.teardown(async () => { await recv.stop('SIGKILL') })
  // Ethernet: pcapng gives each sender its own interface (raw IP shares one, for libpcap's sake).
  const good = runTool('send', ['-', ep, ...clientFlags(k, 'a'), '--sensor-id', 'lab'], pcap(500, 5000, true))
  t.is(good.status, 0, good.stderr)
  t.like(counters(good.stderr), { packets_in: 500, packets_sent: 500 })
  const input = pcap(50, 6000, true)
  const plain = runTool('send', ['-', ep, '--delivery-timeout', '1'], input)
  const rogue = runTool('send', ['-', ep, ...clientFlags(k, 'rogue'), '--delivery-timeout', '1'], input)
  // A client holding the wrong server key cannot finish its own side of the handshake.
  const wrongServer = runTool('send', ['-', ep, '--curve-key', k.key('b'), '--curve-server', k.pub('rogue'), '--delivery-timeout', '1'], input)
  for (const r of [plain, rogue, wrongServer]) {
    t.is(r.status, 1, r.stderr)
    t.regex(r.stderr, /50 of 50 packets were not delivered/)
  }
  const c = await waitForCounters(recv, (x) => (x.auth_rejected ?? 0) >= 2, 20000, 'the plain and the rogue sender refused')
  await recv.stop('SIGINT')
  const packets = readPackets(out)
  t.is(packets.length, 500)
  t.true(packets.every((p) => p.data.readUInt16BE(34) === 5000), 'only the allowed sender\'s packets')
  t.like(counters(recv.stderr()), { packets_written: 500 })
  t.true(c.auth_rejected! >= 2)
  t.regex(recv.stderr(), /sender gateway-a\/lab: batches=\d+ packets=500 /)
  // The pcapng interface is named after the certificate, not the host name the header claims.
  const file = readFileSync(out)
  t.true(file.includes('gateway-a/lab:pcap:-'))
  t.false(file.includes(`${hostname()}/lab`))
  t.regex(recv.stderr(), /refused a connection from 127\.0\.0\.1 with key \S+: key not allowed/)
  t.notRegex(recv.stderr(), /sender [^:]*: .*packets=50 /)
})

test('an allowed sender cannot pose as another allowed key, nor send batches without its proof', async (t) => {
  const k = keys(t)
  const ep = `tcp://127.0.0.1:${await freePort()}`
  const out = join(k.dir, 'out.pcap')
  const recv = await startRecv([ep, out, ...serverFlags(k)])
  t.teardown(async () => { await recv.stop('SIGKILL') })
  const setupOf = (name: string): CurveSetup => ({ key: readCertificate(k.key(name)), serverKey: readCertificate(k.pub('server')).publicKey })
  const a = setupOf('a')
  const b = setupOf('b')
  // a's connection (a is allowed), claiming b's key with a's tag, then b's key with a made-up tag,
  // then no proof at all.
  const forged = [
    Buffer.concat([b.key.publicKey, senderProof(a).subarray(32)]),
    Buffer.concat([b.key.publicKey, Buffer.alloc(PROOF_LENGTH - 32, 7)]),
    undefined,
  ]
  const sock = new Dealer({ linger: 0, ...curveClientOptions(a) })
  t.teardown(() => sock.close())
  sock.connect(ep)
  for (const [i, proof] of forged.entries()) {
    const builder = createBatchBuilder({ host: 'b', sensorId: '', source: 'forged', linktype: 101, instance: 99 + i, proof })
    const pkt = ipv4(17, udp(7000, 53, Buffer.from('forged')))
    builder.append(1_700_000_000, 0, pkt.length, pkt, 0, pkt.length)
    await sock.send(builder.finish(false))
  }
  await waitForCounters(recv, (x) => (x.auth_rejected ?? 0) >= 3, 20000, 'three forged batches refused')
  // The real b still gets in, under its own name.
  const real = runTool('send', ['-', ep, ...clientFlags(k, 'b')], pcap(20))
  t.is(real.status, 0, real.stderr)
  await recv.stop('SIGINT')
  const c = counters(recv.stderr())
  t.is(c.auth_rejected, 3)
  t.is(c.packets_written, 20)
  t.is(readPackets(out).length, 20)
  t.regex(recv.stderr(), /proof does not match key/)
  t.regex(recv.stderr(), /without a sender key proof/)
})

test('a certificate removed from --curve-allow, then SIGHUP: the sender already connected is refused from its next batch', async (t) => {
  const k = keys(t)
  const ep = `tcp://127.0.0.1:${await freePort()}`
  const out = join(k.dir, 'out.pcap')
  const recv = await startRecv([ep, out, ...serverFlags(k)])
  t.teardown(async () => { await recv.stop('SIGKILL') })
  const send = startTool('send', ['-', ep, ...clientFlags(k, 'a'), '--delivery-timeout', '2'], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(async () => { await send.stop('SIGKILL') })
  const whole = pcap(200)
  const first = pcap(100)
  send.child.stdin!.write(first)
  await waitForCounters(recv, (x) => x.packets_written === 100, 20000, 'the first 100 packets written')
  renameSync(join(k.allow, 'a'), join(k.dir, 'a-revoked'))
  recv.child.kill('SIGHUP')
  await waitFor(() => /--curve-allow .*: 1 certificate allowed/.test(recv.stderr()), 10000, 'the reload line')
  send.child.stdin!.end(whole.subarray(first.length))
  t.is(await send.exited, 1, send.stderr())
  t.regex(send.stderr(), /100 of 200 packets were not delivered/)
  const c = await askCounters(recv)
  await recv.stop('SIGINT')
  t.is(c?.packets_written, 100)
  t.true((c?.auth_rejected ?? 0) >= 1)
  t.is(readPackets(out).length, 100)
  t.regex(recv.stderr(), /not \(or no longer\) in --curve-allow/)
})

test('recv --publish -> track and the buffer interface with CURVE: allowed keys get the traffic, others nothing', async (t) => {
  const k = keys(t)
  const { ep, pubEp, bufEp, recv } = await publishingRecv(t, k)
  const track = startTool('track', [pubEp, ...clientFlags(k, 'b')])
  const stranger = startTool('track', [pubEp, ...clientFlags(k, 'rogue')])
  const plain = startTool('track', [pubEp])
  t.teardown(async () => { await Promise.all([track, stranger, plain].map((x) => x.stop('SIGKILL'))) })
  // PUB/SUB drops what is published before a subscriber is joined: send until track sees events.
  await waitFor(async () => {
    const r = runTool('send', ['-', ep, ...clientFlags(k, 'a')], pcap(10))
    t.is(r.status, 0, r.stderr)
    await sleep(300)
    return track.stdout().includes('"event"') || track.stdout().includes('{')
  }, 30000, 'track to get events')
  const q = runTool('query', [bufEp, ...clientFlags(k, 'b')])
  t.is(q.status, 0, q.stderr)
  t.true(readPackets(q.stdout).length >= 10)
  const qRogue = runTool('query', [bufEp, ...clientFlags(k, 'rogue'), '--timeout', '1'])
  t.is(qRogue.status, 1)
  t.regex(qRogue.stderr, /is this key in its --curve-allow/)
  await sleep(500)
  for (const x of [track, stranger, plain]) await x.stop('SIGINT')
  t.not(track.stdout().trim(), '')
  // Events name the sender as recv authenticated it (a's certificate: gateway-a), not by host name.
  t.regex(track.stdout(), /"sensor":"gateway-a"/)
  t.notRegex(track.stdout(), new RegExp(`"sensor":"${hostname()}`))
  t.is(stranger.stdout().trim(), '')
  t.is(plain.stdout().trim(), '')
  const c = await askCounters(recv)
  t.true((c?.auth_rejected ?? 0) >= 3, JSON.stringify(c))
})

test('binding a non-loopback address without CURVE says so once; loopback and ipc do not', async (t) => {
  for (const [host, warned] of [['0.0.0.0', 1], ['127.0.0.1', 0]] as const) {
    const recv = startTool('recv', [`tcp://${host}:${await freePort()}`, '/dev/null', '--debug'])
    t.teardown(async () => { await recv.stop('SIGKILL') })
    await waitFor(() => recv.stderr().includes('listening on'), 20000, 'recv to bind')
    await recv.stop('SIGINT')
    t.is(recv.stderr().match(/bound without CURVE/g)?.length ?? 0, warned, recv.stderr())
  }
})

test('pcap-zmq-track --publish -> pcap-zmq-plugin with CURVE: the allowed plugin gets the events, a plugin without the key none', async (t) => {
  const k = keys(t)
  const pubEp = `tcp://127.0.0.1:${await freePort()}`
  const track = startTool('track', ['-', '--publish', pubEp, '--curve-key', k.key('server'), '--curve-allow', k.allow], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(async () => { await track.stop('SIGKILL') })
  const outs = { allowed: join(k.dir, 'allowed.jsonl'), plain: join(k.dir, 'plain.jsonl') }
  const plugins = [
    startTool('plugin', [pubEp, 'jsonl', '--out', outs.allowed, '--spool-dir', join(k.dir, 's1'), ...clientFlags(k, 'a')]),
    startTool('plugin', [pubEp, 'jsonl', '--out', outs.plain, '--spool-dir', join(k.dir, 's2')]),
  ]
  t.teardown(async () => { await Promise.all(plugins.map((p) => p.stop('SIGKILL'))) })
  // Subscribers join a PUB socket asynchronously: feed sessions until the allowed plugin writes some.
  track.child.stdin!.write(pcap(0, 5000, true))
  let i = 0
  const written = (path: string) => { try { return readFileSync(path, 'utf8').trim() } catch { return '' } }
  await waitFor(() => {
    for (let n = 0; n < 20; n++, i++) track.child.stdin!.write(record(i, 10000 + i, true))
    return written(outs.allowed) !== ''
  }, 30000, 'events at the allowed plugin')
  await sleep(500)
  for (const p of plugins) await p.stop('SIGINT')
  track.child.stdin!.end()
  await track.stop('SIGINT')
  const events = written(outs.allowed).split('\n').map((l) => JSON.parse(l) as { session_id?: unknown })
  t.true(events.length > 0 && events.every((e) => typeof e.session_id === 'string'))
  t.is(written(outs.plain), '')
  t.regex(track.stderr(), /auth_rejected=[1-9]/)
})

test('a subscriber\'s and a buffer client\'s key removed from --curve-allow, then SIGHUP: they are cut off, the others keep going', async (t) => {
  const k = keys(t)
  const { ep, pubEp, bufEp, recv } = await publishingRecv(t, k)
  // b is revoked; a stays (a also sends).
  const keep = startTool('track', [pubEp, ...clientFlags(k, 'a')])
  const revoked = startTool('track', [pubEp, ...clientFlags(k, 'b')])
  t.teardown(async () => { await Promise.all([keep, revoked].map((x) => x.stop('SIGKILL'))) })
  let port = 20000
  const sendSome = () => {
    port += 1
    const r = runTool('send', ['-', ep, ...clientFlags(k, 'a')], pcap(5, port))
    t.is(r.status, 0, r.stderr)
    return port
  }
  const seen = (x: { stdout(): string }, p: number) => x.stdout().includes(`"src_port":${p}`)
  await waitFor(async () => {
    const p = sendSome()
    await sleep(300)
    return seen(keep, p) && seen(revoked, p)
  }, 30000, 'both subscribers to get events')
  t.is(runTool('query', [bufEp, ...clientFlags(k, 'b')]).status, 0)

  renameSync(join(k.allow, 'b'), join(k.dir, 'b-revoked'))
  recv.child.kill('SIGHUP')
  await waitFor(() => recv.stderr().includes('were bound anew'), 10000, 'the sockets bound anew')
  // The kept subscriber reconnects and authenticates again; the revoked one cannot.
  let last = 0
  await waitFor(async () => {
    last = sendSome()
    await sleep(300)
    return seen(keep, last)
  }, 30000, 'the kept subscriber to get events again')
  for (let i = 0; i < 3; i++) { last = sendSome(); await sleep(200) }
  await waitFor(() => seen(keep, last), 10000, 'the last events at the kept subscriber')
  t.false(seen(revoked, last), 'no event after the revocation reaches the revoked key')
  const q = runTool('query', [bufEp, ...clientFlags(k, 'b'), '--timeout', '1'])
  t.is(q.status, 1, 'the revoked key gets no dump')
  t.is(runTool('query', [bufEp, ...clientFlags(k, 'a')]).status, 0)
  t.regex(recv.stderr(), /refused a connection from 127\.0\.0\.1 with key .*: key not allowed/)
})
