package xsim

import (
	"bytes"
	"context"
	_ "embed" // the X API description is embedded
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
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
	input := &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: rt.params,
		Route:      rt.Route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
			SkipSettingDefaults: true,
			// Keep messages to the point: no schema dump.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	err := openapi3filter.ValidateRequest(ctx, input)
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
