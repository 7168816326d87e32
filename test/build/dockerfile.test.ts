import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { expand, pairs, parseDockerfile, words } from '../../core/build/dockerfile.js'
import { excludedBy, parseIgnore } from '../../core/build/ignore.js'

test('directives, comments, continuations, JSON and shell forms, flags', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox AS b\n# a comment\nRUN echo a `\n  # inside\n  && echo b\nCOPY --from=b --chown=1:2 /x /y\nCMD ["sh", "-c", "x"]\n')
  assert.is(df.escape, '`')
  assert.equal(df.directives, { syntax: 'docker/dockerfile:1', escape: '`' })
  assert.equal(df.instructions.map((i) => i.name), ['FROM', 'RUN', 'COPY', 'CMD'])
  assert.is(df.instructions[1]!.args, 'echo a   && echo b')
  assert.equal(df.instructions[2]!.flags, { from: ['b'], chown: ['1:2'] })
  assert.equal(df.instructions[3]!.json, ['sh', '-c', 'x'])
  assert.is(df.instructions[1]!.line, 5)
})

test('heredocs: the body up to the delimiter, <<- strips tabs, a quoted delimiter says so', () => {
  const df = parseDockerfile('FROM x\nRUN <<EOF\necho 1\necho 2\nEOF\nCOPY <<-"END" /f\n\tline\n\tEND\nRUN true\n')
  assert.equal(df.instructions.map((i) => i.name), ['FROM', 'RUN', 'COPY', 'RUN'])
  assert.equal(df.instructions[1]!.heredocs, [{ name: 'EOF', chomp: false, quoted: false, content: 'echo 1\necho 2\n' }])
  assert.equal(df.instructions[2]!.heredocs, [{ name: 'END', chomp: true, quoted: true, content: 'line\n' }])
  assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\nno end\n'), /has no end line "EOF"/)
})

test('substitution: $V, ${V}, :-, :+, escapes, quotes', () => {
  const env = { A: 'a', E: '' }
  assert.is(expand('${A}/$A/${B:-b}/${E:-e}/${E-x}/${A:+y}/${B:+z}', env), 'a/a/b/e//y/')
  assert.is(expand('\\$A', env), '$A')
  assert.equal(words('x "a b" \'$A\' "$A"', env), ['x', 'a b', '$A', 'a'])
  assert.throws(() => expand('${B:?needed}', env), /needed/)
})

test('ENV/LABEL pairs in both forms', () => {
  const [i1, i2] = parseDockerfile('ENV A=1 B="two words"\nENV OLD value with spaces\n').instructions
  assert.equal(pairs(i1!, {}, '\\'), [['A', '1'], ['B', 'two words']])
  assert.equal(pairs(i2!, {}, '\\'), [['OLD', 'value with spaces']])
})

test('.dockerignore: patterns, ** , exceptions, parents; the rule that excluded a path', () => {
  const rules = parseIgnore('# c\n*.key\nnode_modules\n**/*.log\n!keep.log\n/build/\n')
  assert.is(excludedBy(rules, 'a.key')?.pattern, '*.key')
  assert.is(excludedBy(rules, 'sub/a.key'), undefined)
  assert.is(excludedBy(rules, 'node_modules/x/y.js')?.pattern, 'node_modules')
  assert.is(excludedBy(rules, 'deep/er/x.log')?.pattern, '**/*.log')
  assert.is(excludedBy(rules, 'keep.log'), undefined)
  assert.is(excludedBy(rules, 'build/out')?.pattern, 'build')
  assert.is(excludedBy(rules, 'src/main.ts'), undefined)
})

test.run()
