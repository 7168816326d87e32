import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { compareText, isoTime } from '../core/clock.js'

test('isoTime writes what Date#toISOString writes', () => {
  const edges = [
    0, -1, 1, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 951_868_800_000, 4_107_542_400_000 /* 2100-03-01 */,
    253_402_300_799_999 /* 9999-12-31T23:59:59.999Z */, -62_167_219_200_000 /* 0000-01-01 */, -62_135_596_800_001, 1_764_900_000_123,
  ]
  for (const ms of edges) assert.is(isoTime(ms), new Date(ms).toISOString(), String(ms))
  // spread over the years 0–9999, and over every day of a few leap and common years
  for (let i = 0; i < 20_000; i++) {
    const ms = Math.floor(-62_167_219_200_000 + Math.random() * (253_402_300_799_999 + 62_167_219_200_000))
    assert.is(isoTime(ms), new Date(ms).toISOString(), String(ms))
  }
  for (let ms = Date.UTC(1999, 0, 1); ms < Date.UTC(2005, 0, 1); ms += 86_400_000 + 3_723_004) assert.is(isoTime(ms), new Date(ms).toISOString(), String(ms))
})

test('isoTime outside the years 0–9999 falls back to Date', () => {
  assert.is(isoTime(253_402_300_800_000), '+010000-01-01T00:00:00.000Z')
  assert.is(isoTime(-62_167_219_200_001), '-000001-12-31T23:59:59.999Z')
})

test('isoTime with no argument is now', () => {
  const before = Date.now()
  const t = Date.parse(isoTime())
  assert.ok(t >= before && t <= Date.now())
})

test('compareText orders by code unit, as Docker (Go) sorts', () => {
  assert.equal(['b', 'B', 'a', 'a-b', 'ab'].sort(compareText), ['B', 'a', 'a-b', 'ab', 'b'])
  assert.equal(['2026-12-05T01:02:04.000Z', '2026-12-05T01:02:03.999Z'].sort(compareText), ['2026-12-05T01:02:03.999Z', '2026-12-05T01:02:04.000Z'])
  assert.is(compareText('x', 'x'), 0)
})

test.run()
