package slacksim

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// specFS holds Slack's own machine-readable API descriptions (MIT licensed, see
// spec/LICENSE.slack-api-specs): the Web API as Swagger 2.0 and the Events API
// as AsyncAPI 1.2, both from slackapi/slack-api-specs @bc08db4.
//
//go:embed spec/slack-web-openapi-v2.json spec/slack-events-asyncapi-v1.json
var specFS embed.FS

// webMethod is what the Web API description says about one method.
type webMethod struct {
	verbs    []string // HTTP verbs the description lists, upper case
	required []string // parameters marked "required": true (including "token")
}

// webSpec is the parsed Web API description, reduced to what the simulator checks.
type webSpec struct {
	methods map[string]webMethod
}

// loadWebSpec parses the embedded Web API description once. kin-openapi's
// openapi2 loader cannot read this file, so it is decoded with encoding/json.
var loadWebSpec = sync.OnceValues(func() (*webSpec, error) {
	raw, err := specFS.ReadFile("spec/slack-web-openapi-v2.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Swagger string `json:"swagger"`
		Paths   map[string]map[string]struct {
			Parameters []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("slacksim: parse web API spec: %w", err)
	}
	if doc.Swagger != "2.0" || len(doc.Paths) == 0 {
		return nil, fmt.Errorf("slacksim: web API spec is not the expected Swagger 2.0 document")
	}
	spec := &webSpec{methods: make(map[string]webMethod, len(doc.Paths)+3)}
	for path, ops := range doc.Paths {
		var m webMethod
		for verb, op := range ops {
			m.verbs = append(m.verbs, strings.ToUpper(verb))
			for _, p := range op.Parameters {
				if p.Required && !slices.Contains(m.required, p.Name) {
					m.required = append(m.required, p.Name)
				}
			}
		}
		sort.Strings(m.verbs)
		sort.Strings(m.required)
		spec.methods[strings.TrimPrefix(path, "/")] = m
	}
	// The description dates from 2021. These methods, which slack-go v0.35.0
	// calls, came later; their requirements are taken from api.slack.com.
	newer := map[string]webMethod{
		// Socket Mode: opens a WebSocket URL; only an app-level token (xapp-) is accepted.
		"apps.connections.open": {verbs: []string{"POST"}, required: []string{"token"}},
		// Step 1 of the external file upload flow.
		"files.getUploadURLExternal": {verbs: []string{"GET", "POST"}, required: []string{"filename", "length", "token"}},
		// Step 3 of the external file upload flow.
		"files.completeUploadExternal": {verbs: []string{"POST"}, required: []string{"files", "token"}},
	}
	for name, m := range newer {
		if _, ok := spec.methods[name]; !ok {
			spec.methods[name] = m
		}
	}
	return spec, nil
})

// eventSpec is the parsed Events API description.
type eventSpec struct {
	topics  map[string]any // topic name ("message.channels") -> payload schema
	schemas map[string]any // components.schemas
}

// loadEventSpec parses the embedded Events API description once.
var loadEventSpec = sync.OnceValues(func() (*eventSpec, error) {
	raw, err := specFS.ReadFile("spec/slack-events-asyncapi-v1.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Topics map[string]struct {
			Subscribe struct {
				Payload any `json:"payload"`
			} `json:"subscribe"`
		} `json:"topics"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("slacksim: parse events API spec: %w", err)
	}
	if len(doc.Topics) == 0 || doc.Components.Schemas["GenericEventWrapper"] == nil {
		return nil, fmt.Errorf("slacksim: events API spec lacks topics or GenericEventWrapper")
	}
	es := &eventSpec{topics: make(map[string]any, len(doc.Topics)), schemas: doc.Components.Schemas}
	for name, t := range doc.Topics {
		es.topics[name] = t.Subscribe.Payload
	}
	return es, nil
})

// topicFor names the AsyncAPI topic that describes an event_callback whose
// inner event is ev.
func topicFor(ev map[string]any) string {
	typ, _ := ev["type"].(string)
	if typ == "message" {
		if st, _ := ev["subtype"].(string); st == "message_deleted" {
			// The spec's bare "message" topic was generated from a
			// message_deleted sample.
			return "message"
		}
		switch ev["channel_type"] {
		case "group":
			return "message.groups"
		case "im":
			return "message.im"
		case "mpim":
			return "message.mpim"
		case "app_home":
			return "message.app.home"
		}
		return "message.channels"
	}
	return strings.ReplaceAll(typ, "_", ".")
}

// specArtifacts lists "required" entries of the events description that come
// from the one sample it was generated from rather than from what Slack sends:
// the message_deleted sample was a deleted file comment, so its
// previous_message requires "file", "comment" and "subtype" (file_comment),
// which ordinary deleted messages do not carry.
func specArtifacts(path string) bool {
	switch path {
	case "event.previous_message.file", "event.previous_message.comment", "event.previous_message.subtype":
		return true
	}
	return false
}

// validateEvent checks an event_callback payload against the topic of its
// inner event. It returns one line per problem.
func validateEvent(payload []byte) []string {
	es, err := loadEventSpec()
	if err != nil {
		return []string{err.Error()}
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return []string{"event payload is not JSON: " + err.Error()}
	}
	obj, _ := doc.(map[string]any)
	ev, _ := obj["event"].(map[string]any)
	topic := topicFor(ev)
	schema, ok := es.topics[topic]
	if !ok {
		return []string{fmt.Sprintf("event type %v has no topic %q in the events API spec", ev["type"], topic)}
	}
	v := validator{schemas: es.schemas, skip: specArtifacts}
	v.check("", schema, doc)
	for i := range v.problems {
		v.problems[i] = fmt.Sprintf("event %s (topic %s): %s", obj["event_id"], topic, v.problems[i])
	}
	return v.problems
}

// validator checks JSON values against the subset of JSON Schema the events
// description uses: $ref, type, properties, required, items, minItems,
// uniqueItems and additionalProperties.
type validator struct {
	schemas  map[string]any
	skip     func(path string) bool
	problems []string
}

func (v *validator) fail(path, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	v.problems = append(v.problems, path+": "+fmt.Sprintf(format, args...))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (v *validator) check(path string, schemaAny, value any) {
	schema, ok := schemaAny.(map[string]any)
	if !ok {
		return
	}
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := v.schemas[name]
		if !ok {
			v.fail(path, "unresolvable $ref %q", ref)
			return
		}
		v.check(path, target, value)
		return
	}
	if typ, ok := schema["type"].(string); ok && !hasType(typ, value) {
		v.fail(path, "want %s, got %s", typ, jsonType(value))
		return
	}
	switch val := value.(type) {
	case map[string]any:
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				name, _ := r.(string)
				if _, present := val[name]; !present && !v.skip(join(path, name)) {
					v.fail(path, "missing required property %q", name)
				}
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, child := range val {
			if ps, ok := props[k]; ok {
				v.check(join(path, k), ps, child)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					v.fail(path, "unexpected property %q", k)
				}
			case map[string]any:
				v.check(join(path, k), ap, child)
			}
		}
	case []any:
		if mi, ok := schema["minItems"].(float64); ok && float64(len(val)) < mi {
			v.fail(path, "want at least %v items, got %d", mi, len(val))
		}
		if u, _ := schema["uniqueItems"].(bool); u {
			seen := map[string]bool{}
			for _, it := range val {
				b, _ := json.Marshal(it)
				if seen[string(b)] {
					v.fail(path, "duplicate item %s", b)
				}
				seen[string(b)] = true
			}
		}
		if items, ok := schema["items"]; ok {
			for i, it := range val {
				v.check(fmt.Sprintf("%s[%d]", path, i), items, it)
			}
		}
	}
}

func hasType(typ string, value any) bool {
	switch typ {
	case "object":
		_, ok := value.(map[string]any)
		return ok
	case "array":
		_, ok := value.([]any)
		return ok
	case "string":
		_, ok := value.(string)
		return ok
	case "boolean":
		_, ok := value.(bool)
		return ok
	case "integer":
		n, ok := value.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case "number":
		_, ok := value.(json.Number)
		return ok
	case "null":
		return value == nil
	}
	return true
}

func jsonType(value any) string {
	switch value.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", value)
}
