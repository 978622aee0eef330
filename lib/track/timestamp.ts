/**
 * PokieStream's timestamp text: UTC "%Y-%m-%dT%H:%M:%S.%f" (microseconds, no zone suffix).
 * Every event carries three of these, so the text is assembled from cached pieces instead of
 * going through Date: the "YYYY-MM-DDT" of the current day, "HH:MM:SS." of the last two seconds
 * seen (an event's times are nearly always within them), and three-digit tables.
 */
const D2: string[] = []
for (let i = 0; i < 100; i++) D2.push(String(i).padStart(2, '0'))
const D3: string[] = []
for (let i = 0; i < 1000; i++) D3.push(String(i).padStart(3, '0'))

let cachedDay = Number.NaN
let dayText = ''
/** Two most recent seconds and their "YYYY-MM-DDTHH:MM:SS." prefixes. */
let sec0 = Number.NaN
let text0 = ''
let sec1 = Number.NaN
let text1 = ''

function secondText(sec: number): string {
  const day = Math.floor(sec / 86400)
  if (day !== cachedDay) {
    cachedDay = day
    const iso = new Date(day * 86400000).toISOString()
    dayText = iso.slice(0, iso.indexOf('T') + 1)
  }
  let r = sec - day * 86400
  const h = Math.floor(r / 3600)
  r -= h * 3600
  const m = Math.floor(r / 60)
  return `${dayText}${D2[h]}:${D2[m]}:${D2[r - m * 60]}.`
}

/** Unix microseconds to "2026-11-23T09:15:02.123456". */
export function formatTimestamp(us: number): string {
  const sec = Math.floor(us / 1e6)
  const frac = Math.floor(us - sec * 1e6)
  let prefix: string
  if (sec === sec0) prefix = text0
  else if (sec === sec1) prefix = text1
  else {
    prefix = secondText(sec)
    sec1 = sec0
    text1 = text0
    sec0 = sec
    text0 = prefix
  }
  return prefix + D3[Math.floor(frac / 1000)] + D3[frac % 1000]
}
