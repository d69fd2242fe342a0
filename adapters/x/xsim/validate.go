package xsim

import (
	"bytes"
	"context"
	_ "embed" // the X API description is embedded
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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
)

// specJSON is the official X API v2 description (version 2.159, from
// xdevplatform/xdk, MIT licensed: see spec/LICENSE.xdk).
//
//go:embed spec/x-openapi.json
var specJSON []byte

// spec is the parsed description and its router, loaded once on first use
// because the file is large (about 750 KB).
var spec = sync.OnceValues(loadSpec)

type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
}

func loadSpec() (*apiSpec, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(specJSON)
	if err != nil {
		return nil, fmt.Errorf("xsim: load X API description: %w", err)
	}
	// One schema uses a look-ahead regex Go cannot compile and one example
	// is invalid: neither concerns the endpoints simulated here.
	if err := doc.Validate(ctx,
		openapi3.DisableSchemaPatternValidation(),
		openapi3.DisableExamplesValidation(),
	); err != nil {
		return nil, fmt.Errorf("xsim: validate X API description: %w", err)
	}
	// Route by path only, whatever host the simulator is reached on.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("xsim: build router: %w", err)
	}
	return &apiSpec{doc: doc, router: router}, nil
}

// route is the operation of the description a request matched.
type route struct {
	*routers.Route
	params map[string]string // path parameters
}

// errNoRoute and errNoMethod are returned by findRoute.
var (
	errNoRoute  = errors.New("no such endpoint in the X API")
	errNoMethod = errors.New("method not allowed for this endpoint of the X API")
)

// findRoute finds the operation of the description that r addresses.
func (sp *apiSpec) findRoute(r *http.Request) (*route, error) {
	rt, params, err := sp.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, errNoMethod
	case err != nil:
		return nil, errNoRoute
	}
	return &route{Route: rt, params: params}, nil
}

// invalidRequest describes why a request breaks the API description, in the
// shape of X's "Invalid Request" problem.
type invalidRequest struct {
	message    string
	parameters map[string][]string
}

func (e *invalidRequest) Error() string { return e.message }

// validate checks r (whose body has already been read into body) against the
// operation rt. Authentication is not checked here: the simulator does that
// itself. It returns nil or an *invalidRequest.
func (sp *apiSpec) validate(ctx context.Context, r *http.Request, body []byte, rt *route) error {
	if err := checkUnknownQueryParams(r, rt); err != nil {
		return err
	}
	// Validate a shallow copy so that nothing the validator does to the
	// request (such as consuming the body) is seen by the handlers.
	vr := r.Clone(ctx)
	vr.Body = io.NopCloser(bytes.NewReader(body))
	vr.ContentLength = int64(len(body))
	// kin-openapi cannot decode some multipart bodies the description
	// allows (a schema that is an anyOf of objects, a binary part sent with
	// its own content type, a text part of a oneOf schema): those are
	// checked by validateMultipart, against the same schema.
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	multipartBody := ct == "multipart/form-data" && rt.Operation.RequestBody != nil
	input := &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: rt.params,
		Route:      rt.Route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
			SkipSettingDefaults: true,
			ExcludeRequestBody:  multipartBody,
			// Keep messages to the point: no schema dump.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	err := openapi3filter.ValidateRequest(ctx, input)
	if err == nil && multipartBody {
		err = validateMultipart(rt, r.Header.Get("Content-Type"), ctParams["boundary"], body)
	}
	if err == nil {
		return nil
	}
	ir := &invalidRequest{message: err.Error()}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.Parameter != nil {
		name := re.Parameter.Name
		var vals []string
		switch re.Parameter.In {
		case openapi3.ParameterInQuery:
			vals = r.URL.Query()[name]
		case openapi3.ParameterInPath:
			vals = []string{rt.params[name]}
		}
		if vals == nil {
			vals = []string{}
		}
		ir.parameters = map[string][]string{name: vals}
	}
	return ir
}

// checkUnknownQueryParams rejects query parameters the operation does not
// declare, as X does ("The query parameter [x] is not one of [...]").
func checkUnknownQueryParams(r *http.Request, rt *route) error {
	known := map[string]bool{}
	add := func(ps openapi3.Parameters) {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	add(rt.PathItem.Parameters)
	add(rt.Operation.Parameters)
	q := r.URL.Query()
	var unknown []string
	for name := range q {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	names := make([]string, 0, len(known))
	for name := range known {
		names = append(names, name)
	}
	slices.Sort(names)
	return &invalidRequest{
		message: fmt.Sprintf("The query parameter [%s] is not one of [%s]",
			unknown[0], strings.Join(names, ",")),
		parameters: map[string][]string{unknown[0]: q[unknown[0]]},
	}
}

// validateMultipart checks a multipart/form-data body against the schema
// the operation gives it, as kin-openapi would if it could decode it: each
// part is a property; a file part (with a filename, or a content type other
// than text/plain) is a string of its bytes; a text part is the first of
// its text, number or boolean readings its property's schema accepts.
func validateMultipart(rt *route, contentType, boundary string, body []byte) error {
	mt := rt.Operation.RequestBody.Value.Content.Get("multipart/form-data")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return fmt.Errorf("request body has an error: header Content-Type has unexpected value %q", contentType)
	}
	if boundary == "" {
		return fmt.Errorf("request body has an error: failed to decode request body: multipart body without boundary")
	}
	schema := mt.Schema.Value
	obj := map[string]any{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("request body has an error: failed to decode request body: %w", err)
		}
		name := part.FormName()
		if name == "" {
			return fmt.Errorf("request body has an error: failed to decode request body: a part has no name")
		}
		prop := propertySchema(schema, name)
		item := prop
		if prop != nil && prop.Type.Is("array") && prop.Items != nil {
			item = prop.Items.Value
		}
		pct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		file := part.FileName() != "" || pct != "" && pct != "text/plain"
		var v any
		switch {
		case file && anyBytes(item):
			// Whatever the bytes, the schema accepts them: spare a copy.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return fmt.Errorf("request body has an error: failed to decode request body: part %s: %w", name, err)
			}
			v = "\x00(binary)"
		default:
			var buf strings.Builder
			if _, err := io.Copy(&buf, part); err != nil {
				return fmt.Errorf("request body has an error: failed to decode request body: part %s: %w", name, err)
			}
			v = buf.String()
			if !file {
				v = textPartValue(buf.String(), item)
			}
		}
		switch {
		case prop != nil && prop.Type.Is("array"):
			list, _ := obj[name].([]any)
			obj[name] = append(list, v)
		case obj[name] == nil:
			obj[name] = v
		}
	}
	if err := schema.VisitJSON(obj, openapi3.VisitAsRequest(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return fmt.Errorf("request body has an error: doesn't match schema: %w", err)
	}
	return nil
}

// propertySchema finds the schema of property name in schema or in its
// allOf, anyOf and oneOf branches.
func propertySchema(schema *openapi3.Schema, name string) *openapi3.Schema {
	if p, ok := schema.Properties[name]; ok && p.Value != nil {
		return p.Value
	}
	for _, branches := range []openapi3.SchemaRefs{schema.AllOf, schema.AnyOf, schema.OneOf} {
		for _, b := range branches {
			if b.Value == nil {
				continue
			}
			if p := propertySchema(b.Value, name); p != nil {
				return p
			}
		}
	}
	return nil
}

// anyBytes reports whether schema accepts any binary string, whatever its
// bytes: a string of format binary without constraints, or an anyOf with
// such a branch.
func anyBytes(schema *openapi3.Schema) bool {
	if schema == nil {
		return false
	}
	for _, b := range schema.AnyOf {
		if b.Value != nil && anyBytes(b.Value) {
			return true
		}
	}
	return schema.Type.Is("string") && schema.Format == "binary" && schema.MinLength == 0 && schema.MaxLength == nil &&
		schema.Pattern == "" && len(schema.Enum) == 0 && schema.Const == nil &&
		len(schema.AllOf) == 0 && len(schema.AnyOf) == 0 && len(schema.OneOf) == 0 && schema.Not == nil
}

// textPartValue reads the text of a form field as its schema accepts it:
// as text, else as a number, else as a boolean (the text when none fits).
func textPartValue(raw string, schema *openapi3.Schema) any {
	if schema == nil {
		return raw
	}
	candidates := []any{raw}
	if f, err := strconv.ParseFloat(raw, 64); err == nil {
		candidates = append(candidates, f)
	}
	if b, err := strconv.ParseBool(raw); err == nil {
		candidates = append(candidates, b)
	}
	for _, c := range candidates {
		if schema.VisitJSON(c, openapi3.VisitAsRequest(), openapi3.DisableSchemaErrorDetails()) == nil {
			return c
		}
	}
	return raw
}
