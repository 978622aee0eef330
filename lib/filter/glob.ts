/**
 * Python fnmatch.fnmatch patterns, as PokieStream matches DNS names: `*` any run, `?` one
 * character, `[seq]` / `[!seq]` classes, case-insensitive (both sides lowercased), whole name.
 */
export function compileGlob(pattern: string): RegExp {
  const p = pattern.toLowerCase()
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const close = p.indexOf(']', p[i + 1] === '!' ? i + 3 : i + 2)
      if (close < 0) { re += '\\['; continue }
      let body = p.slice(i + 1, close)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      re += `[${body.replace(/\\/g, '\\\\')}]`
      i = close
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}
