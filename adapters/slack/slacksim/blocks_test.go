package slacksim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// blocksByMap is the plain reading of the blocks rules that
// normalizeBlocksLocked must agree with: decode into maps, check, give each
// block a block_id, encode. It returns the error code, or the blocks.
func blocksByMap(raw string) (json.RawMessage, string) {
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, "invalid_blocks_format"
	}
	if len(blocks) > maxBlocks {
		return nil, "invalid_blocks"
	}
	text := func(v any) string {
		m, _ := v.(map[string]any)
		t, _ := m["text"].(string)
		return t
	}
	list := func(v any) []any { l, _ := v.([]any); return l }
	element := func(e map[string]any) bool {
		str := func(k string) string { v, _ := e[k].(string); return v }
		if runes(str("action_id")) > 255 || runes(str("value")) > 2000 || runes(text(e["text"])) > 75 {
			return false
		}
		opts, ok := e["options"].([]any)
		if ok && len(opts) > 100 {
			return false
		}
		for _, o := range opts {
			m, _ := o.(map[string]any)
			v, _ := m["value"].(string)
			if runes(text(m["text"])) > 75 || runes(v) > 150 {
				return false
			}
		}
		return true
	}
	within := func(b map[string]any) bool {
		switch b["type"] {
		case "section":
			if runes(text(b["text"])) > 3000 || len(list(b["fields"])) > 10 {
				return false
			}
			for _, f := range list(b["fields"]) {
				if runes(text(f)) > 2000 {
					return false
				}
			}
			if acc, ok := b["accessory"].(map[string]any); ok && !element(acc) {
				return false
			}
		case "header":
			return runes(text(b["text"])) <= 150
		case "context":
			return len(list(b["elements"])) <= 10
		case "actions":
			els := list(b["elements"])
			if len(els) > 25 {
				return false
			}
			for _, e := range els {
				if m, ok := e.(map[string]any); !ok || !element(m) {
					return false
				}
			}
		}
		return true
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if t, _ := b["type"].(string); t == "" || !within(b) {
			return nil, "invalid_blocks"
		}
		id, _ := b["block_id"].(string)
		if id == "" {
			id = randomString(5, alnumMixed)
			b["block_id"] = id
		}
		if ids[id] || runes(id) > 255 {
			return nil, "invalid_blocks"
		}
		ids[id] = true
	}
	out, _ := json.Marshal(blocks)
	return out, ""
}

// sameBlocks compares what normalizeBlocksLocked and blocksByMap made of in:
// the same JSON values, with block ids either kept from in or new in both.
func sameBlocks(t *testing.T, in string, got, want json.RawMessage) {
	t.Helper()
	var sent []map[string]any
	_ = json.Unmarshal([]byte(in), &sent)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("blocks %.120q: output %q is not JSON: %v", in, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, got); err != nil || compact.Len() != len(got) {
		t.Errorf("blocks %.120q: output %s is not compact", in, got)
	}
	gl, _ := g.([]any)
	wl, _ := w.([]any)
	if len(gl) != len(wl) {
		t.Fatalf("blocks %.120q: got %s, want %s", in, got, want)
	}
	for i := range gl {
		gb, _ := gl[i].(map[string]any)
		wb, _ := wl[i].(map[string]any)
		if id, _ := sent[i]["block_id"].(string); id == "" {
			if gid, _ := gb["block_id"].(string); len(gid) != 5 {
				t.Errorf("blocks %.120q: block %d got block_id %q, want a new one", in, i, gb["block_id"])
			}
			gb["block_id"], wb["block_id"] = "new", "new"
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("blocks %.120q:\n got %s\nwant %s", in, got, want)
	}
}

// checkBlocks runs both readings of in and compares them.
func checkBlocks(t *testing.T, s *Server, in string) string {
	t.Helper()
	want, wantCode := blocksByMap(in)
	got, aerr := s.normalizeBlocksLocked(in)
	code := ""
	if aerr != nil {
		code = aerr.code
	}
	if code != wantCode {
		t.Fatalf("blocks %.120q: error %q, want %q", in, code, wantCode)
	}
	if code == "" {
		sameBlocks(t, in, got, want)
	}
	return code
}

var blockCases = []struct {
	name, blocks, code string
}{
	{"card with one block id", benchCardBlocks(7), ""},
	{"no block ids", `[{"type":"divider"},{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, ""},
	{"spaced out", "[ {\"type\" : \"divider\" } ,\n\t{ \"type\":\"section\", \"text\":{\"type\":\"mrkdwn\",\"text\":\"a b\"}} ]", ""},
	{"empty list", `[]`, ""},
	{"null", `null`, ""},
	{"escapes kept", `[{"type":"section","text":{"type":"mrkdwn","text":"a \"quoted\" \\ <b> & \u00e9 ⏱"}}]`, ""},
	{"not JSON", `[{"type":"divider"}`, "invalid_blocks_format"},
	{"empty", ``, "invalid_blocks_format"},
	{"spaces around", " \n[{\"type\":\"divider\"}]\t ", ""},
	{"a vertical tab before", "\v[{\"type\":\"divider\"}]", "invalid_blocks_format"},
	{"a no-break space after", "[{\"type\":\"divider\"}]\u00a0", "invalid_blocks_format"},
	{"an object, not a list", `{"type":"divider"}`, "invalid_blocks_format"},
	{"a string", `"divider"`, "invalid_blocks_format"},
	{"a number among blocks", `[{"type":"divider"},5]`, "invalid_blocks_format"},
	{"a string among blocks", `[{"type":"divider"},"x"]`, "invalid_blocks_format"},
	{"a list among blocks", `[[{"type":"divider"}]]`, "invalid_blocks_format"},
	{"a null block", `[{"type":"divider"},null]`, "invalid_blocks"},
	{"a null block before a number", `[null,5]`, "invalid_blocks_format"},
	{"no type", `[{"block_id":"a"}]`, "invalid_blocks"},
	{"type not a string", `[{"type":5}]`, "invalid_blocks"},
	{"type in capitals only", `[{"TYPE":"divider"}]`, "invalid_blocks"},
	{"type escaped", `[{"\u0074ype":"divider"}]`, ""},
	{"type twice, last empty", `[{"type":"divider","type":""}]`, "invalid_blocks"},
	{"type twice, last set", `[{"type":"","type":"divider"}]`, ""},
	{"empty block id", `[{"type":"divider","block_id":""}]`, ""},
	{"numeric block id", `[{"type":"divider","block_id":5}]`, ""},
	{"null block id", `[{"type":"divider","block_id":null}]`, ""},
	{"block id in other case", `[{"type":"divider","Block_ID":"x"}]`, ""},
	{"block id in other case and exact", `[{"type":"divider","block_id":"a","Block_ID":"b"}]`, ""},
	{"duplicate block ids", `[{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}]`, "invalid_blocks"},
	{"block id of 256 characters", `[{"type":"divider","block_id":"` + strings.Repeat("é", 256) + `"}]`, "invalid_blocks"},
	{"block id of 255 characters", `[{"type":"divider","block_id":"` + strings.Repeat("é", 255) + `"}]`, ""},
	{"51 blocks", "[" + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]`, "invalid_blocks"},
	{"50 blocks", "[" + strings.Repeat(`{"type":"divider"},`, 49) + `{"type":"divider"}]`, ""},
	{"section text over 3,000", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("a", 3001) + `"}}]`, "invalid_blocks"},
	{"escaped section text at 3,000 characters", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat(`\u00e9`, 2999) + `\ud83d\ude00"}}]`, ""},
	{"escaped section text over 3,000", `[{"type":"sec\u0074ion","text":{"type":"mrkdwn","text":"` + strings.Repeat(`\n`, 3001) + `"}}]`, "invalid_blocks"},
	{"section text as a plain string", `[{"type":"section","text":"` + strings.Repeat("a", 3001) + `"}]`, ""},
	{"section text key in capitals", `[{"type":"section","text":{"type":"mrkdwn","TEXT":"` + strings.Repeat("a", 3001) + `"}}]`, ""},
	{"section text twice, last short", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("a", 3001) + `"},"text":{"type":"mrkdwn"}}]`, ""},
	{"section fields twice, last short", `[{"type":"section","fields":[{"text":"` + strings.Repeat("a", 2001) + `"}],"fields":[{"type":"mrkdwn"}]}]`, ""},
	{"section fields not a list", `[{"type":"section","fields":{"text":"a"}}]`, ""},
	{"eleven fields", `[{"type":"section","fields":[` + strings.Repeat(`{"type":"mrkdwn","text":"a"},`, 10) + `{"type":"mrkdwn","text":"a"}]}]`, "invalid_blocks"},
	{"eleven fields of numbers", `[{"type":"section","fields":[` + strings.Repeat(`1,`, 10) + `1]}]`, "invalid_blocks"},
	{"field over 2,000", `[{"type":"section","fields":[{"type":"mrkdwn","text":"` + strings.Repeat("a", 2001) + `"}]}]`, "invalid_blocks"},
	{"accessory button text over 75", `[{"type":"section","text":{"type":"mrkdwn","text":"a"},"accessory":{"type":"button","text":{"type":"plain_text","text":"` + strings.Repeat("a", 76) + `"},"action_id":"a"}}]`, "invalid_blocks"},
	{"accessory not an object", `[{"type":"section","text":{"type":"mrkdwn","text":"a"},"accessory":"x"}]`, ""},
	{"header over 150", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("a", 151) + `"}}]`, "invalid_blocks"},
	{"fields behind a long s", `[{"type":"section","fieldſ":[` + strings.Repeat(`{"text":"a"},`, 11) + `{"text":"a"}]}]`, ""},
	{"block id behind a Kelvin sign", `[{"type":"divider","blocK_id":"x"}]`, ""},
	{"block id escaped", `[{"type":"divider","block\u005fid":"x"}]`, ""},
	{"context of eleven", `[{"type":"context","elements":[` + strings.Repeat(`{"type":"mrkdwn","text":"a"},`, 10) + `{"type":"mrkdwn","text":"a"}]}]`, "invalid_blocks"},
	{"context of anything", `[{"type":"context","elements":[1,"a",null]}]`, ""},
	{"actions of 26", `[{"type":"actions","elements":[` + strings.Repeat(`{"type":"button","action_id":"a"},`, 25) + `{"type":"button","action_id":"a"}]}]`, "invalid_blocks"},
	{"actions with a number", `[{"type":"actions","elements":[{"type":"button","action_id":"a"},5]}]`, "invalid_blocks"},
	{"actions with null", `[{"type":"actions","elements":[null]}]`, "invalid_blocks"},
	{"actions elements twice, last fine", `[{"type":"actions","elements":[5],"elements":[{"type":"button","action_id":"a"}]}]`, ""},
	{"action id over 255", `[{"type":"actions","elements":[{"type":"button","action_id":"` + strings.Repeat("a", 256) + `"}]}]`, "invalid_blocks"},
	{"button value over 2,000", `[{"type":"actions","elements":[{"type":"button","action_id":"a","value":"` + strings.Repeat("a", 2001) + `"}]}]`, "invalid_blocks"},
	{"button value a number", `[{"type":"actions","elements":[{"type":"button","action_id":"a","value":5}]}]`, ""},
	{"select of 101 options", `[{"type":"actions","elements":[{"type":"static_select","action_id":"a","options":[` + strings.Repeat(`{"text":{"type":"plain_text","text":"a"},"value":"a"},`, 100) + `{"text":{"type":"plain_text","text":"a"},"value":"a"}]}]}]`, "invalid_blocks"},
	{"option value over 150", `[{"type":"actions","elements":[{"type":"static_select","action_id":"a","options":[{"text":{"type":"plain_text","text":"a"},"value":"` + strings.Repeat("a", 151) + `"}]}]}]`, "invalid_blocks"},
	{"option value in capitals", `[{"type":"actions","elements":[{"type":"static_select","action_id":"a","options":[{"text":{"type":"plain_text","text":"a"},"VALUE":"` + strings.Repeat("a", 151) + `"}]}]}]`, ""},
	{"bad UTF-8", "[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"a\xffb\"}}]", ""},
	{"deeply nested", `[{"type":"divider","x":` + strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat(`}`, 20) + `}]`, ""},
}

func TestNormalizeBlocksAgreesWithMaps(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, tc := range blockCases {
		t.Run(tc.name, func(t *testing.T) {
			if code := checkBlocks(t, f.sim, tc.blocks); code != tc.code {
				t.Errorf("error %q, want %q", code, tc.code)
			}
		})
	}
}

func TestNormalizeBlocksKeepsCompactInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// Every block has its id: the blocks are stored as sent.
	in := `[{"type":"section","block_id":"a","text":{"type":"mrkdwn","text":"x \u003c y"}},{"type":"divider","block_id":"b"}]`
	got, aerr := f.sim.normalizeBlocksLocked(in)
	if aerr != nil || string(got) != in {
		t.Fatalf("got %s (%v), want the input", got, aerr)
	}
	// A block without one gets it in front; the others are untouched.
	got, aerr = f.sim.normalizeBlocksLocked(`[{"type":"divider","block_id":"b"},{"type":"divider"}]`)
	if aerr != nil || !strings.HasPrefix(string(got), `[{"type":"divider","block_id":"b"},{"block_id":"`) || !strings.HasSuffix(string(got), `","type":"divider"}]`) {
		t.Fatalf("got %s (%v)", got, aerr)
	}
}

func FuzzNormalizeBlocks(f *testing.F) {
	for _, tc := range blockCases {
		f.Add(tc.blocks)
	}
	sim, err := New(Options{BotToken: testBotToken})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(sim.Close)
	f.Fuzz(func(t *testing.T, in string) {
		checkBlocks(t, sim, in)
	})
}
