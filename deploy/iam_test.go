package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// listActions take no resource but "*" (Service Authorization Reference).
var listActions = []string{"bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles"}

// ownResources are the resources each service's actions may name: the
// function's own tables and secret; Bedrock's models and profiles.
var ownResources = map[string]func(string) bool{
	"bedrock": func(r string) bool { return strings.HasPrefix(r, "arn:${AWS::Partition}:bedrock:") },
	"secretsmanager": func(r string) bool {
		return r == "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AnthropicSecretName}-??????"
	},
	"dynamodb": func(r string) bool {
		return strings.HasPrefix(r, "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"+stackPrefix+"-")
	},
	// the function itself, which invokes itself for each chat turn
	"lambda": func(r string) bool { return r == "${ClaudebridgeFunction.Arn}" },
	// the template's own WebSocket API, by its id: ${ChatApi}/STAGE/POST/@connections/*
	"execute-api": func(r string) bool {
		rest, ok := strings.CutPrefix(r, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${")
		return ok && strings.Contains(rest, "}/")
	},
}

// branches is both values of an Fn::If (less AWS::NoValue), or v alone.
func branches(v any) []any {
	args := list(object(v)["Fn::If"])
	if len(args) != 3 {
		return []any{v}
	}
	var out []any
	for _, b := range args[1:] {
		if str(object(b)["Ref"]) != "AWS::NoValue" {
			out = append(out, branches(b)...)
		}
	}
	return out
}

// strings of a value that is a string, an Fn::Sub of one, or a list of them.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, stringsOf(x)...)
		}
		return out
	case map[string]any:
		if s, ok := v["Fn::Sub"].(string); ok {
			return []string{s}
		}
	}
	return []string{fmt.Sprintf("unreadable %v", v)}
}

// functionRole is the logical id of the role SAM makes for the function.
const functionRole = "ClaudebridgeFunctionRole"

// functionPolicies are the policies of the function's role: its Policies,
// and the PolicyDocument of each AWS::IAM::Policy on its role (where a
// grant on the function itself must be, to make no circular dependency).
func functionPolicies(t *testing.T, tmpl map[string]any) []any {
	t.Helper()
	policies := list(function(t, tmpl)["Policies"])
	for name, r := range object(tmpl["Resources"]) {
		r := object(r)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := object(r["Properties"])
		for _, role := range list(props["Roles"]) {
			if str(object(role)["Ref"]) == functionRole {
				policies = append(policies, props["PolicyDocument"])
			} else {
				t.Errorf("%s: a policy on role %v, not the function's", name, role)
			}
		}
	}
	return policies
}

// grantedActions are the actions the policies allow, in either branch of
// their conditions, with the resources each is allowed on. Only inline
// statements are read: a managed policy or a SAM policy template would
// grant what this test cannot see, and is a problem.
func grantedActions(policies []any) (granted map[string][]string, problems []string) {
	granted = map[string][]string{}
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, p := range policies {
		for _, doc := range branches(p) {
			statements, ok := object(doc)["Statement"]
			if !ok {
				problem("Policies: %v is not an inline policy document (Statement: [...])", doc)
				continue
			}
			for _, s := range list(statements) {
				for _, st := range branches(s) {
					st := object(st)
					for _, k := range []string{"NotAction", "NotResource", "Condition"} {
						if _, ok := st[k]; ok {
							problem("statement %v: %s is not read by this test", st["Sid"], k)
						}
					}
					if st["Effect"] != "Allow" {
						problem("statement %v: Effect %v, want Allow", st["Sid"], st["Effect"])
						continue
					}
					actions, resources := stringsOf(st["Action"]), stringsOf(st["Resource"])
					for _, a := range actions {
						granted[a] = append(granted[a], resources...)
						for _, r := range resources {
							if why := resourceProblem(a, r); why != "" {
								problem("statement %v: %s on %s: %s", st["Sid"], a, r, why)
							}
						}
					}
				}
			}
		}
	}
	return granted, problems
}

// resourceProblem says what is wrong with allowing action on resource.
func resourceProblem(action, resource string) string {
	if resource == "*" {
		if slices.Contains(listActions, action) {
			return ""
		}
		return `"*" is for list actions only`
	}
	if slices.Contains(listActions, action) {
		return `a list action takes "*"`
	}
	prefix, _, _ := strings.Cut(action, ":")
	own, ok := ownResources[prefix]
	switch {
	case !ok:
		return "no resources are known for " + prefix + ": add them to ownResources"
	case !own(resource):
		return "not the function's own"
	}
	return ""
}

func TestAResourceOtherThanTheFunctionsOwnIsAProblem(t *testing.T) {
	for _, c := range []struct{ action, resource string }{
		{"secretsmanager:GetSecretValue", "*"},
		{"secretsmanager:GetSecretValue", "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"},
		{"dynamodb:GetItem", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"},
		{"bedrock:InvokeModel", "*"},
		{"bedrock:ListFoundationModels", "arn:${AWS::Partition}:bedrock:*::foundation-model/*"},
		{"lambda:InvokeFunction", "arn:${AWS::Partition}:lambda:*"},
		{"execute-api:ManageConnections", "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*/*"},
	} {
		if got := resourceProblem(c.action, c.resource); got == "" {
			t.Errorf("%s on %s: no problem found", c.action, c.resource)
		}
	}
}

func TestTheFunctionsOwnResourcesAreNoProblem(t *testing.T) {
	for _, c := range []struct{ action, resource string }{
		{"secretsmanager:GetSecretValue", "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AnthropicSecretName}-??????"},
		{"dynamodb:GetItem", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-*"},
		{"bedrock:InvokeModel", "arn:${AWS::Partition}:bedrock:*::foundation-model/*"},
		{"bedrock:ListFoundationModels", "*"},
		{"execute-api:ManageConnections", "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ChatApi}/*/POST/@connections/*"},
		{"lambda:InvokeFunction", "${ClaudebridgeFunction.Arn}"},
	} {
		if got := resourceProblem(c.action, c.resource); got != "" {
			t.Errorf("%s on %s: %s", c.action, c.resource, got)
		}
	}
}

func TestAManagedPolicyIsAProblemAndAConditionsGrantsAreRead(t *testing.T) {
	fn := object(parseYAML(t, `
Policies:
  - AmazonBedrockFullAccess
  - !If [C, {Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*", Sid: S3}]}, !Ref AWS::NoValue]
`))
	granted, problems := grantedActions(list(fn["Policies"]))
	if got, want := strings.Join(problems, "\n"), "AmazonBedrockFullAccess is not an inline policy"; !strings.Contains(got, want) {
		t.Errorf("problems: got %q, want one holding %q", got, want)
	}
	if _, ok := granted["s3:GetObject"]; !ok {
		t.Errorf("granted: got %v, want the action in the branch of Fn::If", granted)
	}
}
