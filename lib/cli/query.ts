import { Request } from 'zeromq'
import { curveClientOptions } from '../wire/curve.js'
import { MAX_DUMP_MESSAGE } from '../pcap/ring.js'
import { endpointError } from '../wire/endpoint.js'
import { userError } from '../util/errors.js'
import { sanitize } from '../util/sanitize.js'
import { runCli } from './run.js'
import { NAME, parseQueryArgs } from './query-options.js'

/** pcap (either byte order, micro or nanoseconds) and pcapng magic: what a dump starts with. */
const CAPTURE_MAGIC = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a])

await runCli(NAME, parseQueryArgs, async (opts) => {
  // The largest dump a receiver builds: an answer claiming more is not one, and is refused unread.
  const req = new Request({ linger: 0, receiveTimeout: opts.timeout * 1000, sendTimeout: opts.timeout * 1000, maxMessageSize: MAX_DUMP_MESSAGE, ...curveClientOptions(opts.curve) })
  try {
    req.connect(opts.endpoint)
  } catch (err) {
    throw endpointError('connect', opts.endpoint, err)
  }
  try {
    await req.send('dump')
    const [dump] = await req.receive()
    if (!dump || dump.length === 0) throw userError(`empty answer from ${opts.endpoint}`, 'EQUERY')
    // Not a capture: a receiver's "busy: ..." (see lib/pipeline/buffer-interface.ts), or something else answering.
    if (dump.length < 4 || !CAPTURE_MAGIC.has(dump.readUInt32LE(0))) throw userError(`${opts.endpoint} answered: ${sanitize(dump.subarray(0, 512))}`, 'EQUERY')
    await new Promise<void>((resolve, reject) => process.stdout.write(dump, (e) => (e ? reject(e) : resolve())))
  } catch (err) {
    if ((err as { code?: string }).code === 'EAGAIN') throw userError(`no answer from ${opts.endpoint} within ${opts.timeout} s: is pcap-zmq-recv running with --buffer-interface there${opts.curve ? ', and is this key in its --curve-allow' : ''}?`, 'EQUERY')
    throw err
  } finally {
    req.close()
  }
})
