// Columns padded to their widest cell, as docker's tables print (the last column unpadded), and
// times as Docker prints them. Pure.
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n'
}

/** Go's time.Time.String() in UTC, as Docker's {{.CreatedAt}}: "2026-12-07 13:05:09 +0000 UTC". */
export function goTime(iso: string | undefined): string {
  if (!iso) return ''
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`
}
