// Package tap writes the Test Anything Protocol (version 13), with the API of
// github.com/mndrix/tap-go that opencontainers/runtime-tools' validation programs use. That
// module is not packaged in Debian; this is skiff's own small implementation of the same calls,
// built only to compile the validation suite (test/runtime-tools/build.sh). YAML blocks are
// written as JSON, which is YAML.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP stream: tests are numbered as they are reported.
type T struct {
	nextTestNumber int
	planned        bool
	autoPlan       bool
	// Writer receives the output (default os.Stdout).
	Writer io.Writer
}

// New starts a stream on standard output.
func New() *T {
	return &T{nextTestNumber: 1, Writer: os.Stdout}
}

func (t *T) printf(format string, a ...interface{}) {
	fmt.Fprintf(t.Writer, format, a...)
}

// Header writes the version line and, for n > 0, the plan.
func (t *T) Header(n int) {
	t.printf("TAP version 13\n")
	if n > 0 {
		t.printf("1..%d\n", n)
		t.planned = true
	}
}

// Ok reports one test.
func (t *T) Ok(ok bool, description string) {
	word := "ok"
	if !ok {
		word = "not ok"
	}
	t.printf("%s %d - %s\n", word, t.nextTestNumber, description)
	t.nextTestNumber++
}

// Pass reports a passing test.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail reports a failing test.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip reports count skipped tests.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # skip %s\n", t.nextTestNumber, description)
		t.nextTestNumber++
	}
}

// Todo marks the next test as one expected to fail (written as a diagnostic here).
func (t *T) Todo() *T { return t }

// Count is the number of tests reported so far.
func (t *T) Count() int { return t.nextTestNumber - 1 }

// AutoPlan writes the plan from the count of tests reported (call it last).
func (t *T) AutoPlan() {
	if !t.planned {
		t.printf("1..%d\n", t.Count())
		t.planned = true
	}
	t.autoPlan = true
}

// Diagnostic writes a comment line per line of message.
func (t *T) Diagnostic(message string) {
	for _, line := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		t.printf("# %s\n", line)
	}
}

// Diagnosticf is Diagnostic with a format.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML writes a YAML block (as JSON, which YAML reads) for the last test.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", b)
	return nil
}
