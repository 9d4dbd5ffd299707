// Package docs is the doc check: it reads README.md and docs/*.md and reports
// every reference to something the repository no longer has (a file, a link
// anchor, a make target, a flag of the manager, the emulator or the demo, a
// chart value) and every YAML, JSON, shell or Go block that does not parse, so
// that the documentation cannot drift from the code without `make test` failing.
//
// The checks are generic over Markdown: a new file in docs/ is checked as soon
// as it exists. They read the repository's own sources for what exists (the
// Makefile, cmd/*/main.go, the chart's values.yaml), never a copied list.
package docs

import (
	"regexp"
	"strings"
	"unicode"
)

// Block is a fenced code block: its info string's first word and its body.
type Block struct {
	Lang string
	Body string
	Line int // of the opening fence, 1-based
}

// Span is an inline code span outside code blocks.
type Span struct {
	Text string
	Line int
}

// Link is the target of an inline Markdown link or image outside code.
type Link struct {
	Target string
	Line   int
}

// Markdown is what the checks read from one document.
type Markdown struct {
	Blocks   []Block
	Spans    []Span
	Links    []Link
	Headings []string
}

var (
	fenceRe   = regexp.MustCompile("^\\s{0,3}(```+|~~~+)\\s*([^\\s`]*)")
	linkRe    = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	headingRe = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
)

// ParseMarkdown splits a document into code blocks, inline code spans, links and
// headings. It covers the Markdown this project writes (fenced blocks, inline
// links, ATX headings), not every corner of CommonMark.
func ParseMarkdown(text string) Markdown {
	var md Markdown
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := fenceRe.FindStringSubmatch(line); m != nil {
			fence, start := m[1], i
			var body []string
			for i++; i < len(lines); i++ {
				if strings.HasPrefix(strings.TrimSpace(lines[i]), fence[:3]) && strings.Trim(strings.TrimSpace(lines[i]), fence[:1]) == "" {
					break
				}
				body = append(body, lines[i])
			}
			md.Blocks = append(md.Blocks, Block{Lang: strings.ToLower(m[2]), Body: strings.Join(body, "\n"), Line: start + 1})
			continue
		}
		if m := headingRe.FindStringSubmatch(line); m != nil {
			md.Headings = append(md.Headings, m[1])
		}
		spans, rest := codeSpans(line)
		for _, s := range spans {
			md.Spans = append(md.Spans, Span{Text: s, Line: i + 1})
		}
		// Links inside code spans are code, not links.
		for _, m := range linkRe.FindAllStringSubmatch(rest, -1) {
			md.Links = append(md.Links, Link{Target: m[1], Line: i + 1})
		}
	}
	return md
}

// codeSpans returns a line's inline code spans (a run of backticks up to the
// next run of the same length) and the line without them.
func codeSpans(line string) (spans []string, rest string) {
	var b strings.Builder
	for i := 0; i < len(line); {
		if line[i] != '`' {
			b.WriteByte(line[i])
			i++
			continue
		}
		n := 1
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		fence := line[i : i+n]
		end := -1
		for j := i + n; j < len(line); {
			k := strings.Index(line[j:], fence)
			if k < 0 {
				break
			}
			k += j
			if k+n < len(line) && line[k+n] == '`' { // a longer run
				for k < len(line) && line[k] == '`' {
					k++
				}
				j = k
				continue
			}
			end = k
			break
		}
		if end < 0 { // no closing run: literal backticks
			b.WriteString(fence)
			i += n
			continue
		}
		spans = append(spans, strings.TrimSpace(line[i+n:end]))
		i = end + n
	}
	return spans, b.String()
}

// Anchor is the fragment GitHub gives a heading: lower case, punctuation other
// than hyphens and underscores dropped, spaces made hyphens. Inline code and
// link syntax in the heading count by their text.
func Anchor(heading string) string {
	h := linkRe.ReplaceAllStringFunc(heading, func(s string) string {
		return s[strings.Index(s, "[")+1 : strings.Index(s, "]")]
	})
	h = strings.ToLower(strings.ReplaceAll(h, "`", ""))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
