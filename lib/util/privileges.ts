import { readFileSync } from 'node:fs'
import { messageOf, userError } from './errors.js'

/** Looks a user up in /etc/passwd (name or numeric uid); Node has no getpwnam. */
export function lookupUser(name: string): { uid: number; gid: number } {
  let passwd = ''
  try { passwd = readFileSync('/etc/passwd', 'utf8') } catch { /* numeric ids still work */ }
  for (const line of passwd.split('\n')) {
    const f = line.split(':')
    if (f.length >= 4 && (f[0] === name || f[2] === name)) return { uid: Number(f[2]), gid: Number(f[3]) }
  }
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) }
  throw userError(`no such user "${name}" for --user`, 'EUSAGE')
}

/** Drops to `name` once the privileged sockets are open (-u/--user). */
export function dropPrivileges(name: string): void {
  const { uid, gid } = lookupUser(name)
  try {
    process.setgroups?.([gid])
    process.setgid?.(gid)
    process.setuid?.(uid)
  } catch (err) {
    throw userError(`cannot switch to user "${name}": ${messageOf(err)} (only root can drop privileges)`, 'EPERM')
  }
}
