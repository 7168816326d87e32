// An image's history as `docker history` lists it: the config's history entries, newest first,
// each with the size of the layer it made (an empty_layer entry made none). Pure.
import type { ImageRecord } from '../storage/store.js'

export interface HistoryRow {
  /** the image's id on its newest entry, "<missing>" on the others (as Docker shows them) */
  id: string
  created?: string
  createdBy: string
  size: number
  comment: string
}

interface HistoryEntry {
  created?: string
  created_by?: string
  empty_layer?: boolean
  comment?: string
}

/** The rows of `docker history`: the entries that made layers take the layers' sizes, in order. */
export function imageHistory(img: ImageRecord): HistoryRow[] {
  const entries = (Array.isArray(img.config.history) ? img.config.history : []) as HistoryEntry[]
  const rows: HistoryRow[] = []
  let layer = 0
  for (const e of entries) {
    const size = e.empty_layer ? 0 : (img.layers[layer++]?.size ?? 0)
    rows.push({ id: '<missing>', created: e.created, createdBy: e.created_by ?? '', size, comment: e.comment ?? '' })
  }
  // an image without history (some builders leave it out): one row per layer
  if (!entries.length) for (const l of img.layers) rows.push({ id: '<missing>', created: img.created, createdBy: '', size: l.size, comment: '' })
  rows.reverse()
  if (rows[0]) rows[0].id = img.id
  return rows
}
