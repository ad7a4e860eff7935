package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
)

const templatePath = "../template.yaml"

// rawTemplate is template.yaml as written, intrinsics kept in their long
// form ({"Fn::If": [...]}, {"Ref": "X"}), read with goformation's own YAML
// reader, which knows the short tags (!Ref, !Sub, ...).
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return parseYAML(t, string(data))
}

// parseYAML reads a template's YAML, intrinsics kept.
func parseYAML(t *testing.T, yaml string) map[string]any {
	t.Helper()
	js, err := intrinsics.ProcessYAML([]byte(yaml), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// function is the properties of the one function, ClaudebridgeFunction.
func function(t *testing.T, tmpl map[string]any) map[string]any {
	t.Helper()
	fn := object(object(tmpl["Resources"])["ClaudebridgeFunction"])
	if fn["Type"] != "AWS::Serverless::Function" {
		t.Fatalf("ClaudebridgeFunction is %v, want an AWS::Serverless::Function", fn["Type"])
	}
	return object(fn["Properties"])
}

func object(v any) map[string]any { m, _ := v.(map[string]any); return m }

// deployments are parameter values a deploy may give, so that each branch
// of the template's conditions is resolved and read.
var deployments = map[string]map[string]any{
	"defaults (Bedrock)": {"ApiKeys": "k1"},
	"Anthropic, every option": {"ApiKeys": "k1,k2", "AIProvider": "anthropic", "AnthropicSecretName": "claudebridge/anthropic",
		"ModelId": "claude-sonnet-4-5", "AdminKey": "admin", "BedrockAccessKeys": "AKID:SECRET", "CorsAllowOrigins": "https://a.example,https://b.example"},
}

func TestTheTemplateReadsAsSAMResourcesOfTheirTypes(t *testing.T) {
	for name, params := range deployments {
		t.Run(name, func(t *testing.T) {
			tmpl, err := goformation.OpenWithOptions(templatePath, &intrinsics.ProcessorOptions{ParameterOverrides: params, EvaluateConditions: true})
			if err != nil {
				t.Fatalf("goformation: %v", err)
			}
			fn, err := tmpl.GetServerlessFunctionWithName("ClaudebridgeFunction")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := deref(fn.Runtime), "provided.al2023"; got != want {
				t.Errorf("Runtime: got %q, want %q", got, want)
			}
			if got, want := deref(fn.Handler), "bootstrap"; got != want {
				t.Errorf("Handler: got %q, want %q", got, want)
			}
			if got, want := deref(fn.CodeUri.String), "."; got != want {
				t.Errorf("CodeUri: got %q, want %q", got, want)
			}
			if got, want := fn.AWSCloudFormationMetadata["BuildMethod"], "makefile"; got != want {
				t.Errorf("Metadata.BuildMethod: got %v, want %q (make build-ClaudebridgeFunction)", got, want)
			}
			if fn.FunctionUrlConfig == nil {
				t.Fatal("no FunctionUrlConfig")
			}
			if got, want := fn.FunctionUrlConfig.AuthType, "NONE"; got != want {
				t.Errorf("FunctionUrlConfig.AuthType: got %q, want %q", got, want)
			}
			if got, want := deref(fn.FunctionUrlConfig.InvokeMode), "RESPONSE_STREAM"; got != want {
				t.Errorf("FunctionUrlConfig.InvokeMode: got %q, want %q", got, want)
			}
			if got, want := fn.Environment.Variables["API_KEYS"], params["ApiKeys"]; got != want {
				t.Errorf("API_KEYS: got %q, want %q", got, want)
			}
		})
	}
}

func TestTheTemplateOutputsTheFunctionURL(t *testing.T) {
	out := object(object(rawTemplate(t)["Outputs"])["FunctionUrl"])
	got, _ := json.Marshal(object(out["Value"])["Fn::GetAtt"])
	// !GetAtt A.B reads as "A.B", the long form as ["A","B"].
	if want := `"ClaudebridgeFunctionUrl.FunctionUrl"`; string(got) != want && string(got) != `["ClaudebridgeFunctionUrl","FunctionUrl"]` {
		t.Errorf("Outputs.FunctionUrl.Value: got GetAtt %s, want %s (the URL SAM makes for FunctionUrlConfig)", got, want)
	}
}

// cfn-lint (AWS's CloudFormation linter, with the SAM translator) checks
// what goformation's types cannot: every property against the resource
// specifications, after the SAM transform. It is a Python tool: the test
// runs where it is installed (pip install cfn-lint).
func TestTheTemplatePassesCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	out, err := exec.Command(bin, templatePath).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
