// Times as text, and their order, without V8's Date formatting or ICU. Pure.
//
// `new Date().toISOString()` loads the local time zone through ICU at its first use (/etc/localtime,
// the zoneinfo links: ~0.25 ms on the path of every `run`) for a UTC string that needs no zone.
// `String#localeCompare` builds an ICU collator at its first use (~6 ms): `ps` and `images` sorted
// by it. Our timestamps compare as plain strings.

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`)

/**
 * `ms` since the epoch as Date#toISOString writes it, e.g. 2026-12-05T01:02:03.004Z. Dates are
 * computed from days since the epoch (Howard Hinnant's civil-from-days); years outside 0–9999 take
 * Date's own ±YYYYYY form.
 */
export function isoTime(ms: number = Date.now()): string {
  const t = Math.floor(ms)
  const days = Math.floor(t / 86_400_000)
  const inDay = t - days * 86_400_000
  const z = days + 719_468 // days since 0000-03-01
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  if (year < 0 || year > 9999) return new Date(t).toISOString()
  const h = Math.floor(inDay / 3_600_000)
  const m = Math.floor(inDay / 60_000) % 60
  const s = Math.floor(inDay / 1000) % 60
  const frac = inDay % 1000
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(h)}:${pad2(m)}:${pad2(s)}.${String(frac).padStart(3, '0')}Z`
}

/** Code-unit order of two strings (as Go's and Docker's sorting), for Array#sort. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Nanoseconds since the epoch, as Docker's events count them (exact to a few hundred ns: a double). */
export function nowNs(): number {
  return Date.now() * 1e6 + Number(process.hrtime.bigint() % 1000000n)
}
