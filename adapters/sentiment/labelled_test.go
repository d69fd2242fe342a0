package sentiment

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// example is one line of testdata/labelled.tsv.
type example struct {
	text, lang, label string
	urgent            bool
	heldOut           bool // written after tuning, never used to tune
}

func loadLabelled(t testing.TB) []example {
	t.Helper()
	f, err := os.Open("testdata/labelled.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	heldOut := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "# held out") {
			heldOut = true
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("labelled.tsv:%d: %d fields, want 4", n, len(f))
		}
		switch f[2] {
		case "negative", "neutral", "positive":
		default:
			t.Fatalf("labelled.tsv:%d: label %q", n, f[2])
		}
		out = append(out, example{text: f[0], lang: f[1], label: f[2], urgent: f[3] == "true", heldOut: heldOut})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// class folds "very negative" into "negative".
func class(label string) string {
	if label == LabelVeryNegative {
		return LabelNegative
	}
	return label
}

// TestLabelled measures accuracy on the labelled set: of the label class
// (negative, neutral, positive) and of urgency, per language, overall, and
// on the held-out part alone.
func TestLabelled(t *testing.T) {
	set := loadLabelled(t)
	if len(set) < 60 {
		t.Fatalf("%d labelled examples, want at least 60", len(set))
	}
	a := New()
	type tally struct{ n, label, urgent int }
	groups := map[string]*tally{}
	count := func(group string, labelOK, urgentOK bool) {
		g := groups[group]
		if g == nil {
			g = &tally{}
			groups[group] = g
		}
		g.n++
		if labelOK {
			g.label++
		}
		if urgentOK {
			g.urgent++
		}
	}
	for _, ex := range set {
		got := a.Analyze(ex.text, ex.lang)
		labelOK, urgentOK := class(got.Label) == ex.label, got.Urgent == ex.urgent
		if !labelOK {
			t.Logf("label miss [%s] want %s, got %s (negative %.2f): %s", ex.lang, ex.label, got.Label, got.Negative, ex.text)
		}
		if !urgentOK {
			t.Logf("urgency miss [%s] want %v: %s", ex.lang, ex.urgent, ex.text)
		}
		count(ex.lang, labelOK, urgentOK)
		count("overall", labelOK, urgentOK)
		if ex.heldOut {
			count("held-out "+ex.lang, labelOK, urgentOK)
			count("held-out", labelOK, urgentOK)
		}
	}
	pct := func(k, n int) float64 { return 100 * float64(k) / float64(n) }
	for _, name := range []string{"en", "zh", "overall", "held-out en", "held-out zh", "held-out"} {
		if g := groups[name]; g != nil {
			t.Logf("%-11s label accuracy %5.1f%% (%d/%d), urgency accuracy %5.1f%%", name+":", pct(g.label, g.n), g.label, g.n, pct(g.urgent, g.n))
		}
	}
	all := groups["overall"]
	if acc := pct(all.label, all.n); acc < 80 {
		t.Errorf("overall label accuracy %.1f%%, want at least 80%%", acc)
	}
	if acc := pct(all.urgent, all.n); acc < 90 {
		t.Errorf("overall urgency accuracy %.1f%%, want at least 90%%", acc)
	}
}
