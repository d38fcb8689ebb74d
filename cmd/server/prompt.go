package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/walrelay/walrelay/scaffold"
)

// lineReader reads answers, one per line.
type lineReader struct{ r *bufio.Reader }

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: bufio.NewReader(r)} }

// line returns the next line without its end; io.ErrUnexpectedEOF when
// input ends before one.
func (l *lineReader) line() (string, error) {
	s, err := l.r.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no answer: %w", io.ErrUnexpectedEOF)
		}
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// prompter asks, on a terminal, which tables to serve and which are live.
type prompter struct {
	in  *lineReader
	out io.Writer
}

// run shows the tables and asks: models, realtime models, confirmation.
// It sets Selected and Realtime and reports whether to write.
func (p *prompter) run(models []*scaffold.Model, db, path string) (bool, error) {
	fmt.Fprintf(p.out, "walrelay init: %d tables in %s\n\n", len(models), db)
	tw := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\ttable\tmodel\towner\tlooks live")
	var usable, skipped []*scaffold.Model
	for _, m := range models {
		if m.Skip != "" {
			skipped = append(skipped, m)
			continue
		}
		usable = append(usable, m)
		owner, live := m.Owner, m.Live
		if owner == "" {
			owner = "-"
		}
		if live == "" {
			live = "-"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", len(usable), m.Table.Qualified(), m.Name, owner, live)
	}
	tw.Flush()
	for _, m := range skipped { // outside the table: the reasons are long
		fmt.Fprintf(p.out, "  -  %s (cannot be a model: %s)\n", m.Table.Qualified(), m.Skip)
	}
	if len(usable) == 0 {
		fmt.Fprintln(p.out, "\nNo table can be a model; the config will have none.")
	} else {
		fmt.Fprintln(p.out)
		picked, err := p.pick("Models to serve over REST", usable, func(m *scaffold.Model) bool { return m.Selected })
		if err != nil {
			return false, err
		}
		for i, m := range usable {
			m.Selected = picked[i]
			m.Realtime = m.Realtime && m.Selected
		}
		var selected []*scaffold.Model
		for _, m := range usable {
			if m.Selected {
				selected = append(selected, m)
			}
		}
		if len(selected) > 0 {
			picked, err := p.pickAmong("Realtime models (live updates over the WebSocket)", usable, selected, func(m *scaffold.Model) bool { return m.Realtime })
			if err != nil {
				return false, err
			}
			for _, m := range usable {
				m.Realtime = picked[m]
			}
		}
	}
	n, live := 0, 0
	for _, m := range models {
		if m.Selected {
			n++
			if m.Realtime {
				live++
			}
		}
	}
	for {
		fmt.Fprintf(p.out, "Write %s with %d models, %d realtime? [Y/n] ", path, n, live)
		a, err := p.in.line()
		if err != nil {
			return false, err
		}
		switch strings.ToLower(a) {
		case "", "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(p.out, "  answer y or n")
	}
}

// pick asks for numbers among all usable models; the default is the
// current choice.
func (p *prompter) pick(question string, usable []*scaffold.Model, current func(*scaffold.Model) bool) ([]bool, error) {
	picked, err := p.pickAmong(question, usable, usable, current)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(usable))
	for i, m := range usable {
		out[i] = picked[m]
	}
	return out, nil
}

// pickAmong asks for numbers (as listed in usable) among allowed: a comma
// list such as "1,3", "all", "none", or Enter for the current choice. It
// asks again after a bad answer.
func (p *prompter) pickAmong(question string, usable, allowed []*scaffold.Model, current func(*scaffold.Model) bool) (map[*scaffold.Model]bool, error) {
	index := map[*scaffold.Model]int{}
	for i, m := range usable {
		index[m] = i + 1
	}
	var def []string
	for _, m := range allowed {
		if current(m) {
			def = append(def, strconv.Itoa(index[m]))
		}
	}
	defText := strings.Join(def, ",")
	if defText == "" {
		defText = "none"
	}
	for {
		fmt.Fprintf(p.out, "%s: numbers like 1,3, all or none [%s]: ", question, defText)
		a, err := p.in.line()
		if err != nil {
			return nil, err
		}
		if a == "" {
			a = defText
		}
		picked, err := parsePick(a, usable, allowed)
		if err == nil {
			return picked, nil
		}
		fmt.Fprintf(p.out, "  %v\n", err)
	}
}

func parsePick(a string, usable, allowed []*scaffold.Model) (map[*scaffold.Model]bool, error) {
	picked := map[*scaffold.Model]bool{}
	switch strings.ToLower(a) {
	case "none":
		return picked, nil
	case "all":
		for _, m := range allowed {
			picked[m] = true
		}
		return picked, nil
	}
	for _, f := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > len(usable) {
			return nil, fmt.Errorf("%q is not a number from the list (1 to %d)", f, len(usable))
		}
		m := usable[n-1]
		ok := false
		for _, x := range allowed {
			ok = ok || x == m
		}
		if !ok {
			return nil, fmt.Errorf("%d (%s) is not among the models chosen", n, m.Table.Name)
		}
		picked[m] = true
	}
	return picked, nil
}
