package deploy

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
)

const (
	module     = "github.com/claudebridge/claudebridge"
	sdkService = "github.com/aws/aws-sdk-go-v2/service/"
)

// awsCall is one call of an AWS SDK operation in the code.
type awsCall struct {
	Op   string // SERVICE.Operation, SERVICE the SDK package's name: "bedrockruntime.Converse"
	Func string // the function it is in: "dynamo.(*DB).createTables"
	Pos  string // file:line
}

// awsCalls finds every AWS SDK operation the binary's own packages call:
// the methods of a service's *Client whose first argument after the
// context is the operation's *XInput, and the paginators and waiters that
// call one for them. It reads the packages of the module that
// ./cmd/claudebridge is built from, and package dynamo, the store the
// template's DATABASE_URL names; not their tests. The packages are read
// once per test binary.
func awsCalls(t *testing.T) []awsCall {
	t.Helper()
	foundCalls.once.Do(func() { foundCalls.calls, foundCalls.err = findAWSCalls("./cmd/claudebridge", "./dynamo") })
	if foundCalls.err != nil {
		t.Fatal(foundCalls.err)
	}
	return foundCalls.calls
}

var foundCalls struct {
	once  sync.Once
	calls []awsCall
	err   error
}

// findAWSCalls finds the calls of the module's packages that roots (paths
// relative to the module's root) are built from. An interface with a
// method that takes an operation's input is an error: calls through it
// would not be seen.
func findAWSCalls(roots ...string) ([]awsCall, error) {
	cfg := &packages.Config{Dir: "..", Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps}
	loaded, err := packages.Load(cfg, roots...)
	if err != nil {
		return nil, err
	}
	var paths []string
	packages.Visit(loaded, nil, func(p *packages.Package) {
		if p.PkgPath == module || strings.HasPrefix(p.PkgPath, module+"/") {
			paths = append(paths, p.PkgPath)
		}
	})
	cfg.Mode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo
	pkgs, err := packages.Load(cfg, paths...)
	if err != nil {
		return nil, err
	}
	if packages.PrintErrors(pkgs) > 0 {
		return nil, errors.New("the packages do not load")
	}
	var calls []awsCall
	var errs []error
	for _, p := range pkgs {
		errs = append(errs, hidingInterfaces(p)...)
		for _, f := range p.Syntax {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				where := p.Name + "." + funcName(fd)
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					ops, err := operationsOf(p.TypesInfo, n)
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", position(p.Fset, n.Pos()), err))
					}
					for _, op := range ops {
						calls = append(calls, awsCall{Op: op, Func: where, Pos: position(p.Fset, n.Pos())})
					}
					return true
				})
			}
		}
	}
	return calls, errors.Join(errs...)
}

// hidingInterfaces are the package's interfaces through which an SDK
// operation could be called unseen.
func hidingInterfaces(p *packages.Package) []error {
	var errs []error
	for id, obj := range p.TypesInfo.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok {
			continue
		}
		iface, ok := tn.Type().Underlying().(*types.Interface)
		if !ok {
			continue
		}
		for m := range iface.ExplicitMethods() {
			params := m.Type().(*types.Signature).Params()
			for v := range params.Variables() {
				if strings.Contains(types.TypeString(v.Type(), nil), sdkService) {
					errs = append(errs, fmt.Errorf("%s: interface %s: %s takes %s; call the SDK's *Client, so that its calls are seen",
						position(p.Fset, id.Pos()), tn.Name(), m.Name(), types.TypeString(v.Type(), nil)))
					break
				}
			}
		}
	}
	return errs
}

// funcName is "F" or "(*T).M".
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ := fd.Recv.List[0].Type
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	star := ""
	if s, ok := typ.(*ast.StarExpr); ok {
		star, typ = "*", s.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	id, _ := typ.(*ast.Ident)
	if id == nil {
		return fd.Name.Name
	}
	return fmt.Sprintf("(%s%s).%s", star, id.Name, fd.Name.Name)
}

func position(fset *token.FileSet, pos token.Pos) string {
	p := fset.Position(pos)
	file := p.Filename
	if root, err := filepath.Abs(".."); err == nil {
		if rel, err := filepath.Rel(root, file); err == nil {
			file = filepath.ToSlash(rel)
		}
	}
	return fmt.Sprintf("%s:%d", file, p.Line)
}

var (
	paginatorName = regexp.MustCompile(`^New(\w+)Paginator$`)
	waiterName    = regexp.MustCompile(`^New(\w+)Waiter$`)
)

// waiterOperations are the operations the SDK's waiters poll, by service
// and waiter. A waiter not named here fails the test, to be added.
var waiterOperations = map[string]string{
	"dynamodb.TableExists":    "DescribeTable",
	"dynamodb.TableNotExists": "DescribeTable",
}

// operationsOf returns the operations a node calls: a method of an SDK
// client (a call or a method value), or a paginator's or waiter's
// constructor.
func operationsOf(info *types.Info, n ast.Node) ([]string, error) {
	switch n := n.(type) {
	case *ast.SelectorExpr:
		sel := info.Selections[n]
		if sel == nil || sel.Kind() == types.FieldVal {
			return nil, nil
		}
		fn, _ := sel.Obj().(*types.Func)
		service := serviceOf(sel.Recv())
		if fn == nil || service == "" {
			return nil, nil
		}
		sig := fn.Type().(*types.Signature)
		if sig.Params().Len() < 2 || strings.TrimPrefix(types.TypeString(sig.Params().At(1).Type(), nil), "*"+sdkService+service+".") != fn.Name()+"Input" {
			return nil, nil // Options and other methods that call nothing
		}
		return []string{service + "." + fn.Name()}, nil
	case *ast.CallExpr:
		var id *ast.Ident
		switch f := n.Fun.(type) {
		case *ast.SelectorExpr:
			id = f.Sel
		case *ast.Ident:
			id = f
		}
		if id == nil {
			return nil, nil
		}
		fn, _ := info.Uses[id].(*types.Func)
		if fn == nil || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path(), sdkService) {
			return nil, nil
		}
		service := fn.Pkg().Name()
		if m := paginatorName.FindStringSubmatch(fn.Name()); m != nil {
			return []string{service + "." + m[1]}, nil
		}
		if m := waiterName.FindStringSubmatch(fn.Name()); m != nil {
			op, ok := waiterOperations[service+"."+m[1]]
			if !ok {
				return nil, fmt.Errorf("%s.%s: which operation does this waiter call? Add it to waiterOperations", service, fn.Name())
			}
			return []string{service + "." + op}, nil
		}
	}
	return nil, nil
}

// serviceOf is the SDK package's name when typ is a service's Client or a
// pointer to one, else "".
func serviceOf(typ types.Type) string {
	if p, ok := typ.(*types.Pointer); ok {
		typ = p.Elem()
	}
	named, ok := typ.(*types.Named)
	if !ok || named.Obj().Pkg() == nil || named.Obj().Name() != "Client" || !strings.HasPrefix(named.Obj().Pkg().Path(), sdkService) {
		return ""
	}
	return named.Obj().Pkg().Name()
}

// iamPrefixes are the IAM service prefixes of the SDK's services.
var iamPrefixes = map[string]string{
	"bedrockruntime": "bedrock",
	"bedrock":        "bedrock",
	"secretsmanager": "secretsmanager",
	"dynamodb":       "dynamodb",
	// the chat's WebSocket on API Gateway: every call is
	// execute-api:ManageConnections (iamActionsOf)
	"apigatewaymanagementapi": "execute-api",
	"lambda":                  "lambda",
}

// iamActionsOf names the operations whose IAM action is not the
// operation's own name (Bedrock's Converse API is authorized as
// InvokeModel: the Bedrock user guide, "Carry out a conversation with the
// Converse API operations", and the Service Authorization Reference).
var iamActionsOf = map[string]string{
	"bedrockruntime.Converse":       "bedrock:InvokeModel",
	"bedrockruntime.ConverseStream": "bedrock:InvokeModelWithResponseStream",
	// API Gateway's connection management is one action (API Gateway
	// developer guide, "Use @connections commands in your backend service").
	"apigatewaymanagementapi.PostToConnection": "execute-api:ManageConnections",
	"apigatewaymanagementapi.GetConnection":    "execute-api:ManageConnections",
	"apigatewaymanagementapi.DeleteConnection": "execute-api:ManageConnections",
	// Lambda's Invoke is authorized as InvokeFunction (Service
	// Authorization Reference, "Actions defined by AWS Lambda").
	"lambda.Invoke": "lambda:InvokeFunction",
}

// iamAction is the IAM action that allows an operation.
func iamAction(t *testing.T, op string) string {
	if a, ok := iamActionsOf[op]; ok {
		return a
	}
	service, name, _ := strings.Cut(op, ".")
	prefix, ok := iamPrefixes[service]
	if !ok {
		t.Errorf("%s: which IAM service prefix has %s? Add it to iamPrefixes", op, service)
	}
	return prefix + ":" + name
}

// grantOn is where each service's actions are granted, for the message
// of a missing grant.
var grantOn = map[string]string{
	"bedrock":        "Bedrock's models and profiles (statement BedrockInference), or \"*\" for a List action",
	"secretsmanager": "the one secret (statement AnthropicKeySecret)",
	"dynamodb":       "the stack's tables, in a statement of their own: Resource: !Sub arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-* (which covers their indexes)",
	"execute-api":    "the template's own WebSocket API: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ChatApi}/*/POST/@connections/*",
	"lambda":         "the function itself, in an AWS::IAM::Policy on its role (ClaudebridgeFunctionRole): Resource: !Sub ${ClaudebridgeFunction.Arn}",
}

// notOnLambda are calls the code makes on paths Lambda never takes, so
// that the template grants nothing for them.
var notOnLambda = []struct{ Func, Op, Why string }{
	{"dynamo.(*DB).createTables", "dynamodb.CreateTable", "only with dynamodb://PREFIX?create=true, for local use and tests; SAM makes the tables"},
	{"dynamo.(*DB).createTables", "dynamodb.DescribeTable", "the wait for the tables ?create=true made"},
	{"dynamo.(*DB).createTables", "dynamodb.UpdateTimeToLive", "the TTL of the tables ?create=true made"},
}

// neededActions are the IAM actions of the calls Lambda may make, each
// with where it is called.
func neededActions(t *testing.T, calls []awsCall) map[string][]string {
	needed := map[string][]string{}
	used := make([]bool, len(notOnLambda))
next:
	for _, c := range calls {
		for i, x := range notOnLambda {
			if x.Func == c.Func && x.Op == c.Op {
				used[i] = true
				continue next
			}
		}
		a := iamAction(t, c.Op)
		needed[a] = append(needed[a], fmt.Sprintf("%s in %s (%s)", c.Op, c.Func, c.Pos))
	}
	for i, x := range notOnLambda {
		if !used[i] {
			t.Errorf("notOnLambda: %s no longer calls %s: take it off the list", x.Func, x.Op)
		}
	}
	return needed
}

func TestEachFormOfCallIsFoundAndAnInterfaceThatHidesCallsIsAnError(t *testing.T) {
	calls, err := findAWSCalls("./deploy/testdata/calls")
	var got []string
	for _, c := range calls {
		got = append(got, c.Func+" "+c.Op)
	}
	slices.Sort(got)
	want := []string{
		"calls.(*store).Direct dynamodb.GetItem",
		"calls.Paged bedrock.ListInferenceProfiles",
		"calls.Paged dynamodb.DescribeTable",
		"calls.Value bedrockruntime.InvokeModel",
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "interface secrets: GetSecretValue") {
		t.Errorf("error: got %v, want one naming interface secrets", err)
	}
}

func TestTheCallsOfTheCodeAreFound(t *testing.T) {
	calls := awsCalls(t)
	var ops []string
	for _, c := range calls {
		ops = append(ops, c.Op)
	}
	// A few calls known to be in the code, so that a finder that finds
	// nothing cannot pass the comparison below.
	for _, want := range []string{"bedrockruntime.InvokeModelWithResponseStream", "bedrockruntime.ConverseStream", "bedrock.ListFoundationModels", "secretsmanager.GetSecretValue", "dynamodb.DescribeTable"} {
		if !slices.Contains(ops, want) {
			t.Errorf("calls: %s not found in %q", want, ops)
		}
	}
}

func TestTheTemplateGrantsExactlyTheActionsTheCodeCalls(t *testing.T) {
	needed := neededActions(t, awsCalls(t))
	granted, problems := grantedActions(functionPolicies(t, rawTemplate(t)))
	for _, p := range problems {
		t.Error(p)
	}
	for a, where := range needed {
		if _, ok := granted[a]; !ok {
			prefix, _, _ := strings.Cut(a, ":")
			t.Errorf("%s is not granted; the code calls it: %s. Grant it on %s", a, strings.Join(where, "; "), grantOn[prefix])
		}
	}
	for a := range granted {
		if _, ok := needed[a]; !ok {
			t.Errorf("%s is granted but no code calls it", a)
		}
	}
}
