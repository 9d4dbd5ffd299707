package demo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress prints numbered steps, one line each: "[3/10] Starting the operator
// (waiting for …)… ok (1.2s)", followed by indented detail lines. The only
// terminal control codes it writes are colours, and only to a terminal, so the
// output reads the same in a CI log as on a laptop.
type Progress struct {
	w     io.Writer
	color bool
	total int

	mu sync.Mutex
	n  int
}

// NewProgress writes to w; total is the number of steps announced in "[n/total]".
// Colours are used only when w is a terminal and NO_COLOR is not set.
func NewProgress(w io.Writer, total int) *Progress {
	return &Progress{w: w, total: total, color: isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

// isTerminal reports whether w is a character device, without a dependency on a
// terminal library: enough to tell a shell from a pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Step is one running step.
type Step struct {
	p       *Progress
	n       int
	title   string
	start   time.Time
	details []string
	done    bool
}

// Start announces the next step. The title says what the step does and what it
// waits for; the line is finished by Done.
func (p *Progress) Start(title string) *Step {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	s := &Step{p: p, n: p.n, title: title, start: time.Now()}
	fmt.Fprintf(p.w, "%s %s… ", p.paint("1", fmt.Sprintf("[%d/%d]", s.n, p.total)), title)
	return s
}

// Detailf adds a line printed under the step once it is done.
func (s *Step) Detailf(format string, args ...any) {
	for _, line := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		s.details = append(s.details, line)
	}
}

// keepAlive prints a "still running" line with the elapsed time every interval
// until the returned stop is called, so that a long step (a cold build, a slow
// start) shows progress. Done then ends the last such line.
func (s *Step) keepAlive(interval time.Duration) (stop func()) {
	t := time.NewTicker(interval)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				s.still()
			}
		}
	}()
	return func() { t.Stop(); close(quit); wg.Wait() }
}

func (s *Step) still() {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.done {
		return
	}
	indent := strings.Repeat(" ", len(fmt.Sprintf("[%d/%d] ", s.n, p.total)))
	fmt.Fprintf(p.w, "\n%sstill running (%s)… ", indent, time.Since(s.start).Round(time.Second))
}

// Done ends the step's line with ok, or FAILED and the error, then prints the
// details. Only the first call counts.
func (s *Step) Done(err error) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	took := time.Since(s.start).Round(100 * time.Millisecond)
	switch {
	case err == nil:
		fmt.Fprintf(p.w, "%s (%s)\n", p.paint("32", "ok"), took)
	case errors.Is(err, ErrInterrupted):
		fmt.Fprintf(p.w, "%s (%s)\n", p.paint("33", "interrupted"), took)
		err = nil
	default:
		fmt.Fprintf(p.w, "%s (%s)\n", p.paint("31;1", "FAILED"), took)
	}
	indent := strings.Repeat(" ", len(fmt.Sprintf("[%d/%d] ", s.n, p.total)))
	for _, d := range s.details {
		fmt.Fprintf(p.w, "%s%s\n", indent, p.paint("2", d))
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(p.w, "%s%s\n", indent, p.paint("31", line))
		}
	}
}

// Printf prints a line outside any step.
func (p *Progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// Bold and Red style a text for Printf; plain when not on a terminal.
func (p *Progress) Bold(s string) string { return p.paint("1", s) }

// Red is for failures.
func (p *Progress) Red(s string) string { return p.paint("31;1", s) }

// Green is for success.
func (p *Progress) Green(s string) string { return p.paint("32;1", s) }

func (p *Progress) paint(sgr, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}
