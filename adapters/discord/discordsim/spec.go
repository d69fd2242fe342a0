package discordsim

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// specFS holds Discord's own description of its HTTP API v10, OpenAPI 3.1
// (discord/discord-api-spec specs/openapi.json @74fda0f), with its MIT
// licence.
//
//go:embed spec/discord-openapi.json spec/LICENSE.discord-api-spec
var specFS embed.FS

// specJSON is the description's text.
var specJSON = mustRead(specFS, "spec/discord-openapi.json")

func mustRead(fsys embed.FS, name string) []byte {
	b, err := fsys.ReadFile(name)
	if err != nil {
		panic("discordsim: " + err.Error())
	}
	return b
}

// specURL names the description as a JSON Schema resource.
const specURL = "https://discord.sim/openapi.json"

// loadSpec parses the description once, on first use (it is about 1.2 MB).
//
// kin-openapi v0.153.0 reads and validates this OpenAPI 3.1 document as it
// is, and routes requests with it. Its request validator checks 3.1 schemas
// with the JSON Schema 2020-12 engine it is built on
// (santhosh-tekuri/jsonschema/v6) but compiles the schema again for every
// value (10 ms per message body, 100-200 ms under the race detector), so
// request bodies are validated here with that same engine against schemas
// compiled once per operation from the same document; path and query
// parameters go through kin-openapi's openapi3filter.
var loadSpec = sync.OnceValues(func() (*apiSpec, error) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(specJSON)
	if err != nil {
		return nil, fmt.Errorf("discordsim: load Discord API description: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("discordsim: validate Discord API description: %w", err)
	}
	// Route by path only, whatever host the simulator is reached on. The
	// description's server is https://discord.com/api/v10; requests for v9
	// are mapped to v10 before routing (see findRoute).
	doc.Servers = openapi3.Servers{{URL: "/api/v10"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("discordsim: build router: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(specJSON))
	if err != nil {
		return nil, fmt.Errorf("discordsim: parse Discord API description: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, raw); err != nil {
		return nil, fmt.Errorf("discordsim: add Discord API description: %w", err)
	}
	return &apiSpec{doc: doc, router: router, compiler: c, bodies: map[string]*bodySchema{}}, nil
})

type apiSpec struct {
	doc    *openapi3.T
	router routers.Router

	mu       sync.Mutex // guards compiler and bodies
	compiler *jsonschema.Compiler
	bodies   map[string]*bodySchema
}

// bodySchema is the compiled JSON schema of an operation's request body.
type bodySchema struct {
	schema *jsonschema.Schema
	err    error
}

// route is the operation of the description a request matched.
type route struct {
	*routers.Route
	params  map[string]string // path parameters, unescaped
	version string            // "9" or "10"
	path    string            // request path without /api/vN
}

var (
	errNoRoute   = errors.New("no such endpoint in the Discord API")
	errNoMethod  = errors.New("method not allowed for this endpoint of the Discord API")
	errBadAPIVer = errors.New("API version not available (v9 and v10 are)")
)

// findRoute finds the operation r addresses. r's path is /api/v9/... or
// /api/v10/...; discordgo v0.29.0 calls v9, the description is v10.
func (sp *apiSpec) findRoute(r *http.Request) (*route, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v")
	if !ok {
		return nil, errNoRoute
	}
	ver, tail, _ := strings.Cut(rest, "/")
	if ver != "9" && ver != "10" {
		return nil, errBadAPIVer
	}
	tail = "/" + tail
	vr := r.Clone(r.Context())
	vr.URL.Path = "/api/v10" + tail
	vr.URL.RawPath = ""
	if r.URL.RawPath != "" {
		_, rawTail, _ := strings.Cut(strings.TrimPrefix(r.URL.RawPath, "/api/v"), "/")
		vr.URL.RawPath = "/api/v10/" + rawTail
	}
	rt, params, err := sp.router.FindRoute(vr)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, errNoMethod
	case err != nil:
		return nil, errNoRoute
	}
	return &route{Route: rt, params: params, version: ver, path: tail}, nil
}

// requiresAuth reports whether the operation needs the bot token: its
// security requirements do not include the empty one (webhook-token and
// interaction-callback routes do).
func (rt *route) requiresAuth() bool {
	sec := rt.Operation.Security
	if sec == nil {
		sec = &rt.Spec.Security
	}
	if len(*sec) == 0 {
		return false
	}
	for _, req := range *sec {
		if len(req) == 0 {
			return false
		}
	}
	return true
}

// hasJSONBody reports whether the operation takes a JSON request body.
func (rt *route) hasJSONBody() (has, required bool) {
	rb := rt.Operation.RequestBody
	if rb == nil || rb.Value == nil || rb.Value.Content.Get("application/json") == nil {
		return false, false
	}
	return true, rb.Value.Required
}

// checkParams validates path and query parameters.
func (sp *apiSpec) checkParams(ctx context.Context, r *http.Request, rt *route) *formError {
	vr := r.Clone(ctx)
	vr.Body = http.NoBody
	vr.ContentLength = 0
	err := openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: rt.params,
		Route:      rt.Route,
		Options: &openapi3filter.Options{
			ExcludeRequestBody:  true,
			SkipSettingDefaults: true,
			AuthenticationFunc:  func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		},
	})
	if err == nil {
		return nil
	}
	fe := &formError{}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.Parameter != nil {
		name := re.Parameter.Name
		var val string
		if re.Parameter.In == openapi3.ParameterInPath {
			val = rt.params[name]
		} else {
			val = r.URL.Query().Get(name)
		}
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &se) && se.SchemaField == "pattern" && strings.Contains(name, "_id"):
			fe.add([]string{name}, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", val))
		case errors.As(err, &se) && (se.SchemaField == "maximum" || se.SchemaField == "minimum"):
			fe.add([]string{name}, "NUMBER_TYPE_MAX", "Value "+strconv.Quote(val)+" is out of range.")
		default:
			fe.add([]string{name}, "BASE_TYPE_INVALID", re.Error())
		}
		return fe
	}
	fe.add(nil, "BASE_TYPE_INVALID", err.Error())
	return fe
}

// bodySchemaFor compiles (once) the JSON request body schema of an operation.
func (sp *apiSpec) bodySchemaFor(method, path string) (*jsonschema.Schema, error) {
	key := method + " " + path
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if b, ok := sp.bodies[key]; ok {
		return b.schema, b.err
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	loc := specURL + "#/paths/" + esc.Replace(path) + "/" + strings.ToLower(method) +
		"/requestBody/content/application~1json/schema"
	sch, err := sp.compiler.Compile(loc)
	sp.bodies[key] = &bodySchema{schema: sch, err: err}
	return sch, err
}

// checkBody validates a JSON request body against the operation's schema.
//
// Discord coerces numeric strings into integers (discordgo sends some
// integers, such as default_member_permissions, as strings), so a value
// refused only because it is a numeric string where a number is wanted is
// accepted.
func (sp *apiSpec) checkBody(rt *route, body []byte) *formError {
	return sp.checkBodyFor(rt.Method, rt.Path, body)
}

// checkBodyFor validates a JSON body against the request body schema of the
// operation given by method and path template.
func (sp *apiSpec) checkBodyFor(method, path string, body []byte) *formError {
	sch, err := sp.bodySchemaFor(method, path)
	if err != nil {
		fe := &formError{}
		fe.add(nil, "BASE_TYPE_INVALID", "discordsim: cannot compile the request schema: "+err.Error())
		return fe
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil // the caller has already refused bodies that are not JSON
	}
	for range 4 {
		err = sch.Validate(inst)
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil
		}
		if !coerceNumericStrings(ve, inst) {
			return condense(ve, inst)
		}
	}
	return condense(err.(*jsonschema.ValidationError), inst)
}

// coerceNumericStrings replaces, in inst, numeric strings found where a
// number is wanted. It reports whether it replaced any.
func coerceNumericStrings(ve *jsonschema.ValidationError, inst any) bool {
	changed := false
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if k, ok := e.ErrorKind.(*kind.Type); ok && k.Got == "string" &&
			(slices.Contains(k.Want, "integer") || slices.Contains(k.Want, "number")) {
			if v, ok := valueAt(inst, e.InstanceLocation); ok {
				if str, ok := v.(string); ok {
					if _, err := strconv.ParseFloat(str, 64); err == nil && setValueAt(inst, e.InstanceLocation, json.Number(str)) {
						changed = true
					}
				}
			}
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return changed
}

func valueAt(v any, loc []string) (any, bool) {
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func setValueAt(v any, loc []string, nv any) bool {
	if len(loc) == 0 {
		return false
	}
	parent, ok := valueAt(v, loc[:len(loc)-1])
	if !ok {
		return false
	}
	last := loc[len(loc)-1]
	switch x := parent.(type) {
	case map[string]any:
		x[last] = nv
		return true
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(x) {
			return false
		}
		x[i] = nv
		return true
	}
	return false
}

// condense turns a validation error into Discord's error tree. Of the
// branches of a oneOf/anyOf it keeps the one that the value most likely
// meant: one whose "type" discriminator matched, with the fewest problems.
func condense(ve *jsonschema.ValidationError, inst any) *formError {
	fe := &formError{}
	for _, l := range leaves(ve) {
		fe.addLeaf(l, inst)
	}
	if len(fe.problems) == 0 {
		fe.add(nil, "BASE_TYPE_INVALID", ve.Error())
	}
	return fe
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		if len(e.Causes) == 0 {
			return []*jsonschema.ValidationError{e}
		}
		var best []*jsonschema.ValidationError
		bestScore := -1
		for _, c := range e.Causes {
			ls := leaves(c)
			score := len(ls)
			if discriminatorMismatch(e.InstanceLocation, c) {
				score += 1000
			}
			if bestScore < 0 || score < bestScore {
				best, bestScore = ls, score
			}
		}
		return best
	}
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// discriminatorMismatch reports whether branch failed on the "type" member of
// the object at loc: the value was not meant for that branch.
func discriminatorMismatch(loc []string, branch *jsonschema.ValidationError) bool {
	want := append(slices.Clone(loc), "type")
	found := false
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if slices.Equal(e.InstanceLocation, want) {
			switch e.ErrorKind.(type) {
			case *kind.Const, *kind.Enum, *kind.Type:
				found = true
			}
		}
		switch e.ErrorKind.(type) {
		case *kind.OneOf, *kind.AnyOf:
			return // a nested union judges its own branches
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(branch)
	return found
}

// formError is a 400 "Invalid Form Body" (code 50035) answer.
type formError struct {
	problems []problem
}

type problem struct {
	path          []string
	code, message string
}

func (fe *formError) add(path []string, code, message string) {
	fe.problems = append(fe.problems, problem{path: path, code: code, message: message})
}

// addLeaf adds one schema problem in Discord's words.
func (fe *formError) addLeaf(e *jsonschema.ValidationError, inst any) {
	path := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			fe.add(append(slices.Clone(path), m), "BASE_TYPE_REQUIRED", "This field is required")
		}
	case *kind.MaxLength:
		fe.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", k.Want))
	case *kind.MinLength:
		fe.add(path, "BASE_TYPE_MIN_LENGTH", fmt.Sprintf("Must be %d or more in length.", k.Want))
	case *kind.MaxItems:
		fe.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", k.Want))
	case *kind.MinItems:
		fe.add(path, "BASE_TYPE_MIN_LENGTH", fmt.Sprintf("Must be %d or more in length.", k.Want))
	case *kind.Enum, *kind.Const:
		fe.add(path, "BASE_TYPE_CHOICES", "Value must be one of the allowed values ("+kindText(e)+").")
	case *kind.Pattern:
		if strings.Contains(k.Want, "[1-9][0-9]*") {
			fe.add(path, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", k.Got))
		} else {
			fe.add(path, "STRING_TYPE_REGEX", "String value did not match validation regex.")
		}
	case *kind.Type:
		v, _ := valueAt(inst, path)
		switch {
		case slices.Contains(k.Want, "integer") || slices.Contains(k.Want, "number"):
			fe.add(path, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value \"%v\" is not int.", v))
		case slices.Contains(k.Want, "object"):
			fe.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
		case slices.Contains(k.Want, "array"):
			fe.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
		case slices.Contains(k.Want, "boolean"):
			fe.add(path, "BOOLEAN_TYPE_CONVERT", "Must be either true or false.")
		default:
			fe.add(path, "STRING_TYPE_CONVERT", fmt.Sprintf("Could not interpret \"%v\" as string.", v))
		}
	case *kind.Maximum, *kind.ExclusiveMaximum:
		fe.add(path, "NUMBER_TYPE_MAX", kindText(e))
	case *kind.Minimum, *kind.ExclusiveMinimum:
		fe.add(path, "NUMBER_TYPE_MIN", kindText(e))
	default:
		fe.add(path, "BASE_TYPE_INVALID", kindText(e))
	}
}

// kindText is the validator's own wording of a single problem.
func kindText(e *jsonschema.ValidationError) string {
	leaf := &jsonschema.ValidationError{ErrorKind: e.ErrorKind}
	_, text, _ := strings.Cut(leaf.Error(), ": ")
	return text
}

// Error lists the problems, for Violations.
func (fe *formError) Error() string {
	parts := make([]string, 0, len(fe.problems))
	for _, p := range fe.problems {
		where := strings.Join(p.path, ".")
		if where == "" {
			where = "(body)"
		}
		parts = append(parts, fmt.Sprintf("%s: %s %s", where, p.code, p.message))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// body is the JSON answer: {"message":"Invalid Form Body","code":50035,"errors":{...}}.
func (fe *formError) body() obj {
	tree := obj{}
	for _, p := range fe.problems {
		node := tree
		for _, k := range p.path {
			next, ok := node[k].(obj)
			if !ok {
				next = obj{}
				node[k] = next
			}
			node = next
		}
		errs, _ := node["_errors"].([]any)
		node["_errors"] = append(errs, obj{"code": p.code, "message": p.message})
	}
	return obj{"message": "Invalid Form Body", "code": 50035, "errors": tree}
}
