import { sh, uniqueName } from './env.js'
import { trackNetns, untrackNetns } from './reaper.js'

/**
 * A private network namespace with loopback up; `veth` links two of them with addresses.
 * Every test makes its own, so test files can run in parallel, and removes it after.
 */
export interface Netns {
  name: string
  exec: (cmd: string, args: string[], allowFail?: boolean) => string
  remove: () => void
}

export function createNetns(prefix = 'pzp'): Netns {
  const name = uniqueName(prefix)
  sh('ip', ['netns', 'add', name])
  trackNetns(name)
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  return {
    name,
    exec: (cmd, args, allowFail = false) => sh(cmd, args, { netns: name, allowFail }),
    remove: () => { sh('ip', ['netns', 'del', name], { allowFail: true }); untrackNetns(name) },
  }
}

/** Link two namespaces with a veth pair and give each end an IPv4 and an IPv6 address. */
export function linkNetns(a: Netns, b: Netns, n = 1): { a4: string; b4: string; a6: string; b6: string } {
  const va = uniqueName('va')
  const vb = uniqueName('vb')
  sh('ip', ['link', 'add', va, 'netns', a.name, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name])
  const addrs = { a4: `198.18.${n}.1`, b4: `198.18.${n}.2`, a6: `2001:db8:${n}::1`, b6: `2001:db8:${n}::2` }
  a.exec('ip', ['addr', 'add', `${addrs.a4}/24`, 'dev', va])
  b.exec('ip', ['addr', 'add', `${addrs.b4}/24`, 'dev', vb])
  a.exec('ip', ['-6', 'addr', 'add', `${addrs.a6}/64`, 'dev', va, 'nodad'])
  b.exec('ip', ['-6', 'addr', 'add', `${addrs.b6}/64`, 'dev', vb, 'nodad'])
  a.exec('ip', ['link', 'set', va, 'up'])
  b.exec('ip', ['link', 'set', vb, 'up'])
  return addrs
}
