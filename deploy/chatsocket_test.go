package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// resourcesOfType are the template's resources of typ, by logical id.
func resourcesOfType(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range object(tmpl["Resources"]) {
		if object(r)["Type"] == typ {
			out[name] = object(object(r)["Properties"])
		}
	}
	return out
}

func sub(v any) string { return str(object(v)["Fn::Sub"]) }

func TestTheChatsWebSocketAPIRoutesConnectDisconnectAndDefaultToTheFunction(t *testing.T) {
	tmpl := rawTemplate(t)
	apis := resourcesOfType(tmpl, "AWS::ApiGatewayV2::Api")
	if got, want := object(apis["ChatApi"])["ProtocolType"], "WEBSOCKET"; got != want {
		t.Fatalf("ChatApi.ProtocolType %v, want %v", got, want)
	}
	integration := resourcesOfType(tmpl, "AWS::ApiGatewayV2::Integration")["ChatIntegration"]
	if got, want := integration["IntegrationType"], "AWS_PROXY"; got != want {
		t.Errorf("ChatIntegration.IntegrationType %v, want %v", got, want)
	}
	if got, want := sub(integration["IntegrationUri"]), "${ClaudebridgeFunction.Arn}"; !strings.Contains(got, want) {
		t.Errorf("ChatIntegration.IntegrationUri %q, want one holding %q", got, want)
	}
	var keys []string
	for name, r := range resourcesOfType(tmpl, "AWS::ApiGatewayV2::Route") {
		keys = append(keys, str(r["RouteKey"]))
		if got, want := sub(r["Target"]), "integrations/${ChatIntegration}"; got != want {
			t.Errorf("%s.Target %q, want %q", name, got, want)
		}
	}
	slices.Sort(keys)
	if got, want := strings.Join(keys, " "), "$connect $default $disconnect"; got != want {
		t.Errorf("routes %q, want %q", got, want)
	}
	perm := resourcesOfType(tmpl, "AWS::Lambda::Permission")["ChatApiInvokesFunction"]
	if got, want := perm["Principal"], "apigateway.amazonaws.com"; got != want {
		t.Errorf("permission's principal %v, want %v", got, want)
	}
	if got, want := sub(perm["SourceArn"]), "${ChatApi}/*"; !strings.HasSuffix(got, want) {
		t.Errorf("permission's source %q, want the chat API's (%q)", got, want)
	}
}

// The page is told the socket by CHAT_SOCKET_URL; the deployer by the
// output. Both name the stage the template makes.
func TestTheSocketURLOfTheFunctionAndOfTheOutputIsTheChatStages(t *testing.T) {
	tmpl := rawTemplate(t)
	stage := str(resourcesOfType(tmpl, "AWS::ApiGatewayV2::Stage")["ChatStage"]["StageName"])
	want := "wss://${ChatApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + stage
	env := object(object(function(t, tmpl)["Environment"])["Variables"])
	if got := sub(env["CHAT_SOCKET_URL"]); got != want {
		t.Errorf("CHAT_SOCKET_URL %q, want %q", got, want)
	}
	out := object(object(tmpl["Outputs"])["ChatSocketURL"])
	if got := sub(out["Value"]); got != want {
		t.Errorf("output ChatSocketURL %q, want %q", got, want)
	}
}

// A turn job retried by Lambda would run the turn twice; one kept in
// Lambda's queue for hours would start long after its page asked.
func TestTheFunctionsAsynchronousInvocationsAreNotRetriedNorKeptLong(t *testing.T) {
	cfg := object(function(t, rawTemplate(t))["EventInvokeConfig"])
	for field, want := range map[string]string{"MaximumRetryAttempts": "0", "MaximumEventAgeInSeconds": "300"} {
		if got, _ := json.Marshal(cfg[field]); string(got) != want {
			t.Errorf("EventInvokeConfig.%s %s, want %s", field, got, want)
		}
	}
}
