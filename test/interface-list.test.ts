import test from 'ava'
import { binPath, isRoot, ROOT_SKIP, sh } from './helpers/env.js'
import { createNetns, linkNetns } from './helpers/netns.js'

const rootTest = isRoot ? test : test.skip
if (!isRoot) test('interface and gateway listing (skipped)', (t) => { t.log(ROOT_SKIP); t.pass() })

interface IpLink { ifindex: number; ifname: string; mtu: number; operstate: string; addr_info?: Array<{ local: string; prefixlen: number; family: string }> }

rootTest('--list-interfaces and --list-gateways say what ip(8) says, on send and track', (t) => {
  const a = createNetns('pzpla')
  const b = createNetns('pzplb')
  t.teardown(() => { a.remove(); b.remove() })
  const { b4, b6 } = linkNetns(a, b, 41)
  a.exec('ip', ['route', 'add', 'default', 'via', b4])
  a.exec('ip', ['-6', 'route', 'add', 'default', 'via', b6, 'metric', '300'])
  a.exec('ip', ['link', 'set', (JSON.parse(a.exec('ip', ['-j', 'link'])) as IpLink[]).find((l) => l.ifname !== 'lo')!.ifname, 'mtu', '9000'])

  const links = JSON.parse(a.exec('ip', ['-j', 'addr'])) as IpLink[]
  for (const tool of ['send', 'track']) {
    const out = sh('ip', ['netns', 'exec', a.name, process.execPath, binPath(tool), '--list-interfaces'])
    const rows = out.trim().split('\n')
    t.regex(rows[0]!, /^INDEX\s+NAME\s+LINKTYPE\s+STATE\s+MTU\s+ADDRESSES$/)
    t.is(rows.length - 1, links.length)
    for (const [i, l] of links.entries()) {
      const cols = rows[i + 1]!.split(/\s+/)
      t.deepEqual(cols.slice(0, 5), [String(l.ifindex), l.ifname, 'ETHERNET', l.operstate.toLowerCase(), String(l.mtu)], rows[i + 1])
      const want = (l.addr_info ?? []).map((x) => `${x.local}/${x.prefixlen}`).sort()
      t.deepEqual(cols.slice(5).sort(), want)
    }
    const gw = sh('ip', ['netns', 'exec', a.name, process.execPath, binPath(tool), '--list-gateways']).trim().split('\n')
    t.regex(gw[0]!, /^FAMILY\s+GATEWAY\s+INTERFACE\s+METRIC$/)
    const veth = links.find((l) => l.ifname !== 'lo')!.ifname
    t.deepEqual(gw.slice(1).map((r) => r.split(/\s+/)), [['IPv4', b4, veth, '0'], ['IPv6', b6, veth, '300']])
  }
  // No default route: only the header.
  t.is(sh('ip', ['netns', 'exec', b.name, process.execPath, binPath('send'), '--list-gateways']).trim(), 'FAMILY  GATEWAY  INTERFACE  METRIC')
})
