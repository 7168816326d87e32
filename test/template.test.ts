// Go's text/template as --format uses it (cmd/template.ts). Expected outputs are Go's own (from
// text/template's exec_test.go where it has the case, else what `docker ... --format` prints).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { goString, parseTemplate, render, sprintf } from '../cmd/template.js'

const data = {
  Id: 'abc123',
  Name: 'web',
  Names: ['web', 'front'],
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0, Health: null },
  Config: { Env: ['A=1', 'B=2'], Labels: { 'com.x': 'yes', app: 'shop' }, Cmd: ['sh', '-c', 'true'], User: '' },
  NetworkSettings: { IPAddress: '10.0.2.100', Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } },
  HostConfig: { Memory: 0, NanoCpus: 1500000000 },
  Mounts: [{ Type: 'volume', Name: 'data', Destination: '/data' }],
  Size: 1.5,
  Empty: [],
}

const t = (src: string, d: unknown = data) => render(parseTemplate(src), d)

test('fields, nested fields, and the values as Go prints them', () => {
  assert.is(t('{{.Name}}'), 'web')
  assert.is(t('{{.State.Pid}}'), '42')
  assert.is(t('{{.State.Running}}'), 'true')
  assert.is(t('{{.Config.Env}}'), '[A=1 B=2]')
  assert.is(t('{{.Config.Labels}}'), 'map[app:shop com.x:yes]')
  assert.is(t('{{.State}}'), '{running true 42 0 <nil>}')
  assert.is(t('{{.State.Health}}'), '<nil>')
  assert.is(t('{{.NetworkSettings.IPAddress}}'), '10.0.2.100')
  assert.is(t('{{.HostConfig.Memory}}'), '0')
  assert.is(t('{{.Size}}'), '1.5')
  assert.is(t('{{.}}', 'plain'), 'plain')
  assert.is(t('x{{/* a comment */}}y'), 'xy')
  assert.is(t('a  {{- .Name -}}  b'), 'awebb')
  assert.is(t('{{"quoted\\t"}}{{`raw\\t`}}{{1.5}}{{true}}{{nil}}'), 'quoted\traw\\t1.5true<nil>')
})

test('a missing map key is <no value>; an unknown field is an error that lists the fields', () => {
  assert.is(t('{{.Config.Labels.nope}}'), '<no value>')
  assert.is(t('{{index .Config.Labels "com.x"}}'), 'yes')
  assert.throws(() => t('{{.State.Pidd}}'), (e: Error) => /can't evaluate field Pidd; the fields here are Status, Running, Pid, ExitCode, Health/.test(e.message))
  assert.throws(() => t('{{.State.Health.Status}}'), /nil pointer evaluating \.State\.Health\.Status/)
  assert.throws(() => t('{{.Name.Length}}'), /can't evaluate field Length in type string/)
  assert.throws(() => t('{{nosuch .Name}}'), /function "nosuch" not defined/)
})

test('pipelines, variables, parentheses, and Go\'s functions', () => {
  assert.is(t('{{.Name | printf "%s!"}}'), 'web!')
  assert.is(t('{{printf "%-6s|%5d|%05.1f|%q|%v|%x" .Name .State.Pid 3.14159 "a" .Names 255}}'), 'web   |   42|003.1|"a"|[web front]|ff')
  assert.is(t('{{$n := .Name}}{{$n}}-{{$n = "x"}}{{$n}}'), 'web-x')
  assert.is(t('{{(index .Mounts 0).Destination}}'), '/data')
  assert.is(t('{{index .Names 1}} {{len .Names}} {{len .Config.Labels}} {{len .Name}}'), 'front 2 2 3')
  assert.is(t('{{slice .Name 1}} {{slice .Names 0 1}}'), 'eb [web]')
  assert.is(t('{{print 1 2 "a" 3}}|{{println .Name 4}}'), '1 2a3|web 4\n')
  assert.is(t('{{and 1 0 2}} {{or 0 "" "x"}} {{not .Empty}} {{and .Name .State.Pid}}'), '0 x true 42')
  assert.is(t('{{eq .Name "db" "web"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}'), 'true true true true true false')
  assert.is(t('{{html "<a&b>"}} {{js "it\'s"}} {{urlquery "a b&c"}}'), '&lt;a&amp;b&gt; it\\\'s a+b%26c')
  assert.is(t('{{$}}', 'root'), 'root')
})

test('if / else if / else, with, range with variables, else, break and continue', () => {
  assert.is(t('{{if .State.Running}}up{{else}}down{{end}}'), 'up')
  assert.is(t('{{if eq .Name "db"}}db{{else if eq .Name "web"}}web!{{else}}?{{end}}'), 'web!')
  assert.is(t('{{with .State}}{{.Pid}}{{end}}{{with .Empty}}x{{else}}none{{end}}'), '42none')
  assert.is(t('{{range .Names}}[{{.}}]{{end}}'), '[web][front]')
  assert.is(t('{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}'), '0=web 1=front ')
  assert.is(t('{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}'), 'app:shop;com.x:yes;')
  assert.is(t('{{range .Empty}}x{{else}}empty{{end}}'), 'empty')
  assert.is(t('{{range .Names}}{{if eq . "web"}}{{continue}}{{end}}{{.}}{{end}}'), 'front')
  assert.is(t('{{range .Names}}{{.}}{{break}}{{end}}'), 'web')
  assert.is(t('{{range $p, $b := .NetworkSettings.Ports}}{{$p}} -> {{(index $b 0).HostPort}}{{end}}'), '80/tcp -> 8080')
  assert.is(t('{{range 3}}{{.}}{{end}}'), '012')
  assert.is(t('{{range .Names}}{{$.Name}}{{end}}'), 'webweb')
})

test('Docker\'s functions: json, join, split, lower, upper, title, truncate, pad', () => {
  // a map's keys sorted, as Go's encoding/json writes them; a struct's in its order
  assert.is(t('{{json .Config.Labels}}'), '{"app":"shop","com.x":"yes"}')
  assert.is(t('{{json .State}}'), '{"Status":"running","Running":true,"Pid":42,"ExitCode":0,"Health":null}')
  assert.is(t('{{json .Mounts}}'), '[{"Type":"volume","Name":"data","Destination":"/data"}]')
  assert.is(t('{{json .Name}} {{json .State.Health}}'), '"web" null')
  assert.is(t('{{join .Names ","}}'), 'web,front')
  assert.is(t('{{split "a:b:c" ":"}} {{index (split "a:b" ":") 1}}'), '[a b c] b')
  assert.is(t('{{lower "AbC"}} {{upper .Name}} {{title "hello wide world"}}'), 'abc WEB Hello Wide World')
  assert.is(t('{{truncate .Id 3}}|{{pad .Name 2 1}}|'), 'abc|  web |')
})

test('errors name the line and what is wrong; define and template are refused', () => {
  assert.throws(() => parseTemplate('{{if .A}}x'), /has no \{\{end\}\}/)
  assert.throws(() => parseTemplate('{{end}}'), /unexpected \{\{end\}\}/)
  assert.throws(() => parseTemplate('{{.A'), /unclosed action/)
  assert.throws(() => parseTemplate('line1\n{{"unterminated}}'), /:2: unterminated quoted string/)
  assert.throws(() => parseTemplate('{{define "x"}}{{end}}'), /not supported/)
  assert.throws(() => parseTemplate('{{.A |}}'), /missing command after \|/)
  assert.throws(() => t('{{$nope}}'), /undefined variable: \$nope/)
  assert.throws(() => t('{{.Name 1}}'), /is not a method but has arguments/)
  assert.throws(() => t('{{index .Names 5}}'), /index out of range/)
})

test('a method in the data takes the action\'s arguments ({{.Label "k"}})', () => {
  const row = { Labels: 'a=1', Label: (k: unknown) => (k === 'a' ? '1' : '') }
  assert.is(t('{{.Label "a"}}|{{.Label "b"}}', row), '1|')
})

test('sprintf and goString on their own', () => {
  assert.is(sprintf('%s=%d%%', ['a', 5]), 'a=5%')
  assert.is(sprintf('%d', []), '%!d(MISSING)')
  assert.is(sprintf('%s', ['a', 'b']), 'a%!(EXTRA string=b)')
  assert.is(sprintf('%.2f|%8.3f|%-4s|', [1.005, 2, 'x']), '1.00|   2.000|x   |')
  assert.is(goString({ B: 1, a: 2 }), 'map[B:1 a:2]')
  assert.is(goString([[1, 2], []]), '[[1 2] []]')
})

test.run()
