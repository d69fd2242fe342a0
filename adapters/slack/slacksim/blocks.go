package slacksim

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Checking Block Kit blocks: what chat.postMessage, chat.update, response
// URLs and file shares do with a blocks parameter.
//
// A card is a few kilobytes of blocks, checked on every post; decoding it
// into maps and encoding it again cost more than the rest of a post. So,
// once encoding/json has found the parameter to be valid JSON, a reader
// walks its bytes and picks out only what the limits concern, matching keys
// exactly and taking the last of repeated ones, as decoding into a map does.
// The blocks kept are the bytes the app
// sent, compacted, with a block_id written into the blocks that had none.

// blockFacts is what the limits read of a block. Strings are decoded, and
// most are slices of the blocks parameter.
type blockFacts struct {
	typ      []byte
	hasID    bool   // a block_id key is there
	id       []byte // its value if it is a string
	text     []byte // text.text
	fields   [][]byte
	elements []elementFacts
	// accessory is the section's button or select, if any.
	accessory elementFacts
}

// elementFacts is what the limits read of a button, a select, or any other
// element of a context or actions block.
type elementFacts struct {
	object   bool // false for an element that is not a JSON object
	actionID []byte
	value    []byte
	text     []byte // text.text
	options  []optionFacts
}

// optionFacts is one option of a select.
type optionFacts struct {
	text, value []byte // text.text, value
}

// normalizeBlocksLocked checks a blocks parameter and gives every block a
// block_id, as Slack does.
func (s *Server) normalizeBlocksLocked(raw string) (json.RawMessage, *apiError) {
	src := bytes.Trim([]byte(raw), " \t\n\r") // JSON's whitespace, no other
	if !json.Valid(src) {
		return nil, fail("invalid_blocks_format")
	}
	switch src[0] {
	case 'n':
		return json.RawMessage("null"), nil // blocks=null: no blocks at all
	case '[':
	default:
		return nil, fail("invalid_blocks_format")
	}
	blocks, spaced := readBlocks(src)
	if spaced {
		var buf bytes.Buffer
		_ = json.Compact(&buf, src)
		src = buf.Bytes()
		blocks, _ = readBlocks(src)
	}
	// Every block must be an object (or null, which has no type and is
	// refused below), as decoding into []map[string]any demands.
	for _, b := range blocks {
		if c := src[b.start]; c != '{' && c != 'n' {
			return nil, fail("invalid_blocks_format")
		}
	}
	if len(blocks) > maxBlocks {
		return nil, fail("invalid_blocks")
	}
	// Decoding replaces invalid UTF-8, so a block with some is kept the way
	// a map encodes it.
	validUTF8 := utf8.Valid(src)
	ids := make([]string, 0, len(blocks))
	rewrite := make([][]byte, len(blocks)) // a block's new bytes, nil to keep them
	for i, b := range blocks {
		f := b.facts
		if len(f.typ) == 0 || !f.withinLimits() {
			return nil, fail("invalid_blocks") // null blocks have no type either
		}
		span := src[b.start:b.end]
		id := string(f.id)
		switch {
		case !f.hasID && validUTF8:
			id = randomString(5, alnumMixed)
			rewrite[i] = slices.Concat([]byte(`{"block_id":"`+id+`",`), span[1:])
		case id == "" || !validUTF8:
			// block_id is there but empty or not a string: re-encode the
			// block the way a map holds it, with a new one.
			var m map[string]any
			_ = json.Unmarshal(span, &m)
			if id == "" {
				id = randomString(5, alnumMixed)
			}
			m["block_id"] = id
			rewrite[i], _ = json.Marshal(m)
		}
		if slices.Contains(ids, id) || runes(id) > 255 {
			return nil, fail("invalid_blocks") // block ids are unique in a message
		}
		ids = append(ids, id)
	}
	if !slices.ContainsFunc(rewrite, func(b []byte) bool { return b != nil }) {
		return src, nil
	}
	out := make([]byte, 0, len(src)+20*len(blocks))
	out = append(out, '[')
	for i, b := range blocks {
		if i > 0 {
			out = append(out, ',')
		}
		if rewrite[i] != nil {
			out = append(out, rewrite[i]...)
		} else {
			out = append(out, src[b.start:b.end]...)
		}
	}
	return append(out, ']'), nil
}

// withinLimits checks a block against Block Kit's documented limits:
// section text 3,000 characters and 10 fields of 2,000; header 150; context
// 10 elements; actions 25 elements; buttons' text 75, action_id 255, value
// 2,000; select options 100, each with text 75 and value 150.
func (b *blockFacts) withinLimits() bool {
	switch string(b.typ) {
	case "section":
		if utf8.RuneCount(b.text) > 3000 || len(b.fields) > 10 {
			return false
		}
		for _, f := range b.fields {
			if utf8.RuneCount(f) > 2000 {
				return false
			}
		}
		return b.accessory.withinLimits()
	case "header":
		return utf8.RuneCount(b.text) <= 150
	case "context":
		return len(b.elements) <= 10
	case "actions":
		if len(b.elements) > 25 {
			return false
		}
		for _, e := range b.elements {
			if !e.object || !e.withinLimits() {
				return false // every element of an actions block is an object
			}
		}
	}
	return true
}

// withinLimits checks a button's or a select's sizes.
func (e *elementFacts) withinLimits() bool {
	if utf8.RuneCount(e.actionID) > 255 || utf8.RuneCount(e.value) > 2000 || utf8.RuneCount(e.text) > 75 || len(e.options) > 100 {
		return false
	}
	for _, o := range e.options {
		if utf8.RuneCount(o.text) > 75 || utf8.RuneCount(o.value) > 150 {
			return false
		}
	}
	return true
}

// runes counts characters, as Slack's limits do.
func runes(s string) int { return utf8.RuneCountInString(s) }

// blockAt is one block of a blocks array: where its bytes are and what the
// limits read of it.
type blockAt struct {
	start, end int
	facts      blockFacts
}

// readBlocks reads the blocks of src, a valid JSON array, and reports
// whether it has whitespace between tokens.
func readBlocks(src []byte) ([]blockAt, bool) {
	r := jsonReader{src: src}
	var blocks []blockAt
	r.array(func() {
		b := blockAt{start: r.i}
		b.facts = r.block()
		b.end = r.i
		blocks = append(blocks, b)
	})
	return blocks, r.spaced
}

// jsonReader walks valid JSON, reading values the way decoding into an
// interface{} would see them: a value of another kind than the one asked
// for reads as the zero value, as a failed type assertion does.
type jsonReader struct {
	src    []byte
	i      int
	spaced bool // whitespace between tokens was met
}

// next skips whitespace and returns the first byte of what follows.
func (r *jsonReader) next() byte {
	for ; ; r.i++ {
		switch c := r.src[r.i]; c {
		case ' ', '\t', '\n', '\r':
			r.spaced = true
		default:
			return c
		}
	}
}

// skip passes over a value.
func (r *jsonReader) skip() {
	switch r.next() {
	case '"':
		r.rawString()
	case '{', '[':
		for depth := 0; ; {
			switch r.src[r.i] {
			case '"':
				r.rawString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case ' ', '\t', '\n', '\r':
				r.spaced = true
			}
			r.i++
			if depth == 0 {
				return
			}
		}
	default: // a number, true, false or null
		for r.i < len(r.src) {
			switch r.src[r.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			r.i++
		}
	}
}

// rawString passes over the string at r.i and returns it with its quotes,
// and whether it needs decoding: escapes, or bytes that are not UTF-8.
func (r *jsonReader) rawString() (quoted []byte, decode bool) {
	start := r.i
	r.i++
	for ascii := true; ; r.i++ {
		switch c := r.src[r.i]; {
		case c == '"':
			r.i++
			q := r.src[start:r.i]
			return q, decode || !ascii && !utf8.Valid(q)
		case c == '\\':
			decode = true
			r.i++
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
}

// str reads a string; any other value reads as "".
func (r *jsonReader) str() []byte {
	if r.next() != '"' {
		r.skip()
		return nil
	}
	return r.strAt()
}

// strAt reads the string at r.i, decoded.
func (r *jsonReader) strAt() []byte {
	q, decode := r.rawString()
	if !decode {
		return q[1 : len(q)-1]
	}
	var s string
	_ = json.Unmarshal(q, &s)
	return []byte(s)
}

// object reads an object, calling field with each key and the reader at its
// value, which field must read. It skips anything but an object and reports
// whether there was one.
func (r *jsonReader) object(field func(key []byte)) bool {
	if r.next() != '{' {
		r.skip()
		return false
	}
	r.i++
	for r.next() != '}' {
		key := r.strAt()
		r.next() // the colon
		r.i++
		field(key)
		if r.next() == ',' {
			r.i++
		}
	}
	r.i++
	return true
}

// array reads an array, calling item with the reader at each element, which
// item must read. It skips anything but an array.
func (r *jsonReader) array(item func()) {
	if r.next() != '[' {
		r.skip()
		return
	}
	r.i++
	for r.next() != ']' {
		item()
		if r.next() == ',' {
			r.i++
		}
	}
	r.i++
}

// block reads a block.
func (r *jsonReader) block() blockFacts {
	var b blockFacts
	r.object(func(key []byte) {
		switch string(key) {
		case "type":
			b.typ = r.str()
		case "block_id":
			b.hasID, b.id = true, r.str()
		case "text":
			b.text = r.text()
		case "fields":
			b.fields = nil
			r.array(func() { b.fields = append(b.fields, r.text()) })
		case "accessory":
			b.accessory = r.element()
		case "elements":
			b.elements = nil
			r.array(func() { b.elements = append(b.elements, r.element()) })
		default:
			r.skip()
		}
	})
	return b
}

// text reads the text of a text object.
func (r *jsonReader) text() []byte {
	var t []byte
	r.object(func(key []byte) {
		if string(key) == "text" {
			t = r.str()
		} else {
			r.skip()
		}
	})
	return t
}

// element reads an element of a block.
func (r *jsonReader) element() elementFacts {
	var e elementFacts
	e.object = r.object(func(key []byte) {
		switch string(key) {
		case "action_id":
			e.actionID = r.str()
		case "value":
			e.value = r.str()
		case "text":
			e.text = r.text()
		case "options":
			e.options = nil
			r.array(func() { e.options = append(e.options, r.option()) })
		default:
			r.skip()
		}
	})
	return e
}

// option reads an option of a select.
func (r *jsonReader) option() optionFacts {
	var o optionFacts
	r.object(func(key []byte) {
		switch string(key) {
		case "text":
			o.text = r.text()
		case "value":
			o.value = r.str()
		default:
			r.skip()
		}
	})
	return o
}
