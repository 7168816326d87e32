// --format for lists and objects, as Docker's CLI reads it: a Go template per row (or `table`
// TEMPLATE, with a header row and columns aligned as Go's tabwriter aligns them). Pure.
//
//   formatRows('{{.Names}}', rows, headers)                → one line per row
//   formatRows('table {{.ID}}\t{{.Status}}', rows, headers) → "CONTAINER ID   STATUS\n..."
//
// `\t` and `\n` written as two characters in the format (a shell's single quotes keep them so)
// are a tab and a newline, as Docker makes them. The template is loaded only here, so commands
// that print their default table never pay for it.
import { parseTemplate, render } from './template.js'

/** Go's tabwriter as Docker sets it up: minimum width 10, padding 3, cells ending in a tab. */
export function tabwrite(text: string): string {
  const lines = text.split('\n')
  const cells = lines.map((l) => l.split('\t'))
  const widths: number[] = []
  for (const row of cells) {
    // only cells that a tab ends are aligned: the last one of a line is not
    row.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...c].length)
    })
  }
  return cells
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c + ' '.repeat(Math.max(10, widths[i]! + 3) - [...c].length))).join(''))
    .join('\n')
}

/** The format as Docker reads it: escapes made real, and whether it is a table. */
function prepare(format: string): { table: boolean; body: string } {
  const text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  const m = /^\s*table(\s+|$)/.exec(text)
  return m ? { table: true, body: text.slice(m[0].length) } : { table: false, body: text }
}

/**
 * `rows` through `format`. `headers` names each field's column (ID → "CONTAINER ID"; a method,
 * `{{.Label "k"}}`, gets a function that gives its name); a table whose template is empty
 * (`--format table`) uses `defaultTable`.
 */
export function formatRows(format: string, rows: object[], headers: Record<string, string | (() => string)>, defaultTable: string): string {
  const { table, body } = prepare(format)
  const template = parseTemplate(table && !body.trim() ? prepare(defaultTable).body : body)
  const out: string[] = []
  // the header: the same template over the column names. Rendered for every format, so that a
  // field that does not exist is an error even when there is no row to show.
  const names: Record<string, unknown> = { ...headers }
  for (const k of Object.keys(rows[0] ?? {})) if (!(k in names)) names[k] = k.toUpperCase()
  const header = render(template, names)
  if (table) out.push(header)
  for (const row of rows) out.push(render(template, row))
  const text = out.map((l) => `${l}\n`).join('')
  return table ? tabwrite(text) : text
}

/** One object through `format` (inspect -f, info, version): the output and a newline. */
export function formatObject(format: string, value: unknown): string {
  const { body } = prepare(format)
  return `${render(parseTemplate(body), value)}\n`
}
