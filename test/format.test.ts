// --format over lists and objects (cmd/format.ts): Docker's `table` with its headers and tabwriter
// columns, escapes, one line per row, and an unknown field refused even when the list is empty.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatObject, formatRows, tabwrite } from '../cmd/format.js'

const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Status: 'STATUS', Label: () => 'LABEL' }
const row = (id: string, names: string, labels: Record<string, string> = {}) => ({ ID: id, Names: names, Status: 'Up 2 minutes', Label: (k: unknown) => labels[String(k)] ?? '' })
const rows = [row('abc', 'web', { tier: 'front' }), row('defghijklmnop', 'db')]

test('tabwrite: cells ended by a tab are aligned, at least 10 wide, 3 apart; the last cell is not', () => {
  // Go: a column is as wide as its widest cell plus the padding, and at least the minimum width
  const line = (a: string, b: string, c: string) => `${a.padEnd(18)}${b.padEnd(10)}${c}`
  assert.is(tabwrite('a\tbb\tc\nlonger-than-ten\tb\tc'), `${line('a', 'bb', 'c')}\n${line('longer-than-ten', 'b', 'c')}`)
})

test('a template per row, \\t and \\n escapes, methods with arguments', () => {
  assert.is(formatRows('{{.Names}}', rows, headers, ''), 'web\ndb\n')
  assert.is(formatRows('{{.ID}}\\t{{.Names}}', rows, headers, ''), 'abc\tweb\ndefghijklmnop\tdb\n')
  assert.is(formatRows('{{.Names}}={{.Label "tier"}}', rows, headers, ''), 'web=front\ndb=\n')
})

test('table: Docker\'s headers, aligned columns; `table` alone is the default table', () => {
  assert.is(formatRows('table {{.ID}}\\t{{.Names}}', rows, headers, ''),
    'CONTAINER ID    NAMES\nabc             web\ndefghijklmnop   db\n')
  assert.is(formatRows('table', rows, headers, '{{.Names}}\\t{{.Status}}'), 'NAMES     STATUS\nweb       Up 2 minutes\ndb        Up 2 minutes\n')
  assert.is(formatRows('table {{.Names}}\\t{{.Label "tier"}}', [], headers, ''), 'NAMES     LABEL\n')
})

test('an unknown field is an error that lists the fields, even with no rows', () => {
  for (const list of [rows, []]) {
    assert.throws(() => formatRows('{{.Nope}}', list, headers, ''), (e: Error) => /can't evaluate field Nope; the fields here are ID, Names, Status, Label/.test(e.message))
  }
})

test('formatObject: one object, a newline after it', () => {
  assert.is(formatObject('{{.State.Pid}}', { State: { Pid: 7 } }), '7\n')
  assert.is(formatObject('{{range .Mounts}}{{.Destination}}\\n{{end}}', { Mounts: [{ Destination: '/a' }, { Destination: '/b' }] }), '/a\n/b\n\n')
})

test.run()
