package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the JSON file: every scenario's rows, ratios and the targets.
type Report struct {
	Started   time.Time   `json:"started"`
	Seconds   float64     `json:"seconds"`
	Go        string      `json:"go"`
	CPUs      int         `json:"cpus"`
	Quick     bool        `json:"quick"`
	Command   string      `json:"command"`
	Scenarios []*Scenario `json:"scenarios"`
}

// Scenario is one numbered scenario of the issue.
type Scenario struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Setup   string   `json:"setup"`
	Rows    []Row    `json:"rows"`
	Ratios  []Ratio  `json:"ratios,omitempty"`
	Checks  []Check  `json:"checks,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	Error   string   `json:"error,omitempty"`
	columns []column
}

// Row is one target's numbers, keyed like the columns.
type Row struct {
	Target string             `json:"target"`
	Values map[string]float64 `json:"values"`
}

// Ratio compares gemgate with the floor or with direct calls.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Check is one of the targets against its measured value.
type Check struct {
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	AtMost bool    `json:"at_most"` // the value must not exceed the limit (else: must reach it)
	Pass   bool    `json:"pass"`
}

// nameWidth fits the longest target name, "baseline gemgate (1,000 keys) Anthropic Messages".
const nameWidth = 48

type column struct {
	key, head string
	digits    int
}

func (s *Scenario) row(target string, values map[string]float64) {
	s.Rows = append(s.Rows, Row{Target: target, Values: values})
}

func (s *Scenario) value(target, key string) (float64, bool) {
	for _, r := range s.Rows {
		if r.Target == target {
			v, ok := r.Values[key]
			return v, ok
		}
	}
	return 0, false
}

// ratio adds num's key over den's key, when both were measured and the divisor is not zero.
func (s *Scenario) ratio(name, num, den, key string) (float64, bool) {
	a, ok1 := s.value(num, key)
	b, ok2 := s.value(den, key)
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	s.Ratios = append(s.Ratios, Ratio{Name: name, Value: round(a/b, 3)})
	return a / b, true
}

func (s *Scenario) atMost(target string, v, limit float64) {
	s.Checks = append(s.Checks, Check{Target: target, Value: round(v, 3), Limit: limit, AtMost: true, Pass: v <= limit})
}

func (s *Scenario) atLeast(target string, v, limit float64) {
	s.Checks = append(s.Checks, Check{Target: target, Value: round(v, 3), Limit: limit, Pass: v >= limit})
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// print writes the report as tables, one per scenario.
func (r *Report) print(w io.Writer) {
	mode := "full"
	if r.Quick {
		mode = "quick (smoke test: too short for conclusions)"
	}
	fmt.Fprintf(w, "gemgate-bench  %s  %d CPUs  %s  %s run, %.0fs\n", r.Go, r.CPUs, r.Started.Format(time.RFC3339), mode, r.Seconds)
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "\n%d. %s\n   %s\n", s.ID, s.Name, s.Setup)
		if s.Error != "" {
			fmt.Fprintf(w, "   FAILED: %s\n", s.Error)
		}
		s.printRows(w)
		for _, ra := range s.Ratios {
			fmt.Fprintf(w, "   ratio  %-44s %8.3f\n", ra.Name, ra.Value)
		}
		for _, c := range s.Checks {
			verdict := "ok"
			if !c.Pass {
				verdict = "MISSED"
			}
			op := "≥"
			if c.AtMost {
				op = "≤"
			}
			fmt.Fprintf(w, "   target %-44s %8.3f  (%s %g)  %s\n", c.Target, c.Value, op, c.Limit, verdict)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "   note   %s\n", n)
		}
	}
}

func (s *Scenario) printRows(w io.Writer) {
	if len(s.Rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Right-aligned numbers read best; the names are padded so that they line up on the left.
	head := []string{fmt.Sprintf("   %-*s", nameWidth, "target")}
	for _, c := range s.columns {
		head = append(head, c.head)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, r := range s.Rows {
		cells := []string{fmt.Sprintf("   %-*s", nameWidth, r.Target)}
		for _, c := range s.columns {
			v, ok := r.Values[c.key]
			if !ok {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, fmt.Sprintf("%.*f", c.digits, v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	_ = tw.Flush()
}

func (r *Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
