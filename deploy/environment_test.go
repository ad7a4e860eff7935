package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// setting is a row of README's settings table, which
// TestReadmeSettingsTableIsTheGoTable (cmd/claudebridge) holds to the code.
type setting struct{ Default string }

var backticked = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// readmeSettings are the variables of README's settings table.
func readmeSettings(t *testing.T) map[string]setting {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "| variable | default | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("README.md: no settings table")
	}
	out := map[string]setting{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		cells := strings.Split(line, " | ")
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			out[m[1]] = setting{Default: strings.Trim(cells[1], "`")}
		}
	}
	if len(out) < 40 {
		t.Fatalf("README.md: %d settings read, the table has more", len(out))
	}
	return out
}

// mustSetOnLambda are the variables whose defaults do not serve on
// Lambda, and why; the template sets each, whatever the parameters.
var mustSetOnLambda = map[string]string{
	"DATABASE_URL": "its default is a SQLite file in the home directory; Lambda's disk is read-only but /tmp, and /tmp is each instance's own and lost with it",
	"API_KEYS":     "a Function URL with AuthType NONE is public: without a client key the doors would be open to anyone, at the account's expense",
	"AI_PROVIDER":  "inferred, it would follow whichever credentials happen to be in sight; the deployer chooses",
}

// lambdaReserved are variables Lambda sets itself and refuses in a
// function's configuration (the Lambda developer guide, "Defined runtime
// environment variables").
var lambdaReserved = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

// environment is the function's environment as written.
func environment(t *testing.T) (env map[string]any, params map[string]any) {
	tmpl := rawTemplate(t)
	return object(object(function(t, tmpl)["Environment"])["Variables"]), object(tmpl["Parameters"])
}

func TestTheTemplateSetsOnlyVariablesTheCodeReads(t *testing.T) {
	settings := readmeSettings(t)
	env, _ := environment(t)
	for name := range env {
		if _, ok := settings[name]; !ok {
			t.Errorf("%s is set, but README's settings table has no such variable", name)
		}
	}
}

func TestTheTemplateSetsNoVariableLambdaReserves(t *testing.T) {
	env, _ := environment(t)
	for _, name := range lambdaReserved {
		if _, ok := env[name]; ok {
			t.Errorf("%s is set; Lambda sets it and refuses it in the configuration", name)
		}
	}
}

func TestTheVariablesWhoseDefaultsDoNotServeOnLambdaAreAlwaysSet(t *testing.T) {
	settings := readmeSettings(t)
	env, _ := environment(t)
	for name, why := range mustSetOnLambda {
		if _, ok := settings[name]; !ok {
			t.Errorf("%s: README's settings table has no such variable", name)
		}
		v, ok := env[name]
		if !ok {
			t.Errorf("%s is not set (%s)", name, why)
			continue
		}
		if _, conditional := object(v)["Fn::If"]; conditional {
			t.Errorf("%s is set only under a condition (%s)", name, why)
		}
	}
}

func TestEveryOtherVariableHasADefault(t *testing.T) {
	env, _ := environment(t)
	for name, s := range readmeSettings(t) {
		if _, set := env[name]; !set && s.Default == "" {
			t.Errorf("%s has no default in README and the template does not set it", name)
		}
	}
}

// A parameter passed straight through keeps the code's default, so that
// a deploy with the defaults behaves as serve does.
func TestTheParametersDefaultToTheCodesDefaults(t *testing.T) {
	settings := readmeSettings(t)
	env, params := environment(t)
	for name, v := range env {
		param := str(object(v)["Ref"])
		if param == "" {
			continue
		}
		def, ok := object(params[param])["Default"]
		if !ok {
			continue // asked of the deployer
		}
		got, want := str(def), settings[name].Default
		if name == "AI_PROVIDER" {
			want = "bedrock" // inferred on Lambda, where AWS credentials are always in sight
		}
		if got != want {
			t.Errorf("%s: parameter %s defaults to %q, the code to %q", name, param, got, want)
		}
	}
}
