package bedrockemu

import (
	"context"
	"errors"
	"strings"
	"testing"

	cbbedrock "github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator/sim"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestControlPlane(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := bedrock.New(bedrock.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: cbbedrock.SDKHTTPClient(srv.Client()),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
	ctx := context.Background()

	fms, err := client.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bedrocktypes.FoundationModelSummary{}
	for _, m := range fms.ModelSummaries {
		found[aws.ToString(m.ModelId)] = m
	}
	for _, c := range sim.Catalog {
		if _, ok := found[bedrockIDOf(t, c.ID)]; !ok {
			t.Errorf("catalog model %s is not listed", c.ID)
		}
	}
	s45 := found["anthropic.claude-sonnet-4-5-20250929-v1:0"]
	if aws.ToString(s45.ProviderName) != "Anthropic" || len(s45.InferenceTypesSupported) != 1 || s45.InferenceTypesSupported[0] != "INFERENCE_PROFILE" {
		t.Errorf("sonnet 4.5 summary %+v", s45)
	}
	if h := found["anthropic.claude-3-haiku-20240307-v1:0"]; len(h.InferenceTypesSupported) != 1 || h.InferenceTypesSupported[0] != bedrocktypes.InferenceTypeOnDemand {
		t.Errorf("claude 3 haiku inference types %v", h.InferenceTypesSupported)
	}

	all, err := client.ListInferenceProfiles(ctx, &bedrock.ListInferenceProfilesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var paged int
	pager := bedrock.NewListInferenceProfilesPaginator(client, &bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(5)})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		paged += len(page.InferenceProfileSummaries)
	}
	if paged != len(all.InferenceProfileSummaries) || pages < 2 {
		t.Errorf("paging saw %d profiles in %d pages, unpaged %d", paged, pages, len(all.InferenceProfileSummaries))
	}

	apps, err := client.ListInferenceProfiles(ctx, &bedrock.ListInferenceProfilesInput{TypeEquals: bedrocktypes.InferenceProfileTypeApplication})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps.InferenceProfileSummaries) != 1 || apps.InferenceProfileSummaries[0].Type != bedrocktypes.InferenceProfileTypeApplication {
		t.Fatalf("application profiles %+v", apps.InferenceProfileSummaries)
	}
	arn := aws.ToString(apps.InferenceProfileSummaries[0].InferenceProfileArn)
	if arn != "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emulator-sonnet" {
		t.Errorf("application profile ARN %s", arn)
	}

	got, err := client.GetInferenceProfile(ctx, &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Models) == 0 || !strings.HasSuffix(aws.ToString(got.Models[0].ModelArn), "foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0") {
		t.Errorf("application profile models %+v", got.Models)
	}
	sys, err := client.GetInferenceProfile(ctx, &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("global.anthropic.claude-opus-4-6-v1")})
	if err != nil || sys.Type != bedrocktypes.InferenceProfileTypeSystemDefined {
		t.Errorf("global profile: %v %+v", err, sys)
	}
	_, err = client.GetInferenceProfile(ctx, &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("us.anthropic.nothing")})
	var nf *bedrocktypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown profile: %v", err)
	}
}

func bedrockIDOf(t *testing.T, anthropicID string) string {
	for _, m := range bedrockModels {
		if m.AnthropicID == anthropicID {
			return m.BedrockID
		}
	}
	t.Errorf("no Bedrock id for %s", anthropicID)
	return ""
}

func TestRegionalProfiles(t *testing.T) {
	srv := newBedrockServer(t, Options{Region: "eu-west-1"})
	client := bedrock.New(bedrock.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: cbbedrock.SDKHTTPClient(srv.Client()),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
	out, err := client.ListInferenceProfiles(context.Background(), &bedrock.ListInferenceProfilesInput{TypeEquals: bedrocktypes.InferenceProfileTypeSystemDefined})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.InferenceProfileSummaries {
		id := aws.ToString(p.InferenceProfileId)
		if !strings.HasPrefix(id, "eu.") && !strings.HasPrefix(id, "global.") {
			t.Errorf("profile %s in eu-west-1", id)
		}
	}
}

func TestGetSecretValue(t *testing.T) {
	srv := newBedrockServer(t, Options{Secrets: map[string]string{"claudebridge/anthropic": "sk-ant-emulated"}})
	client := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: cbbedrock.SDKHTTPClient(srv.Client()),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
	ctx := context.Background()
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("claudebridge/anthropic")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SecretString) != "sk-ant-emulated" || aws.ToString(out.Name) != "claudebridge/anthropic" || out.CreatedDate == nil || len(out.VersionStages) != 1 {
		t.Errorf("secret %+v", out)
	}
	byARN, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: out.ARN})
	if err != nil || aws.ToString(byARN.SecretString) != "sk-ant-emulated" {
		t.Errorf("by ARN %s: %v", aws.ToString(out.ARN), err)
	}
	_, err = client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("missing")})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("missing secret: %v", err)
	}

	bad := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: cbbedrock.SDKHTTPClient(srv.Client()),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, "wrong", ""),
	})
	_, err = bad.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("claudebridge/anthropic")})
	if code, status := apiErrorCode(t, err); code != "InvalidSignatureException" || status != 403 {
		t.Errorf("wrong secret key: %s %d", code, status)
	}
}

func TestProfilesFollowTheModelTablesGeographies(t *testing.T) {
	srv := newBedrockServer(t, Options{Region: "ap-northeast-1"})
	client := bedrock.New(bedrock.Options{
		Region: "ap-northeast-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: cbbedrock.SDKHTTPClient(srv.Client()),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
	out, err := client.ListInferenceProfiles(context.Background(), &bedrock.ListInferenceProfilesInput{TypeEquals: bedrocktypes.InferenceProfileTypeSystemDefined})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, p := range out.InferenceProfileSummaries {
		ids[aws.ToString(p.InferenceProfileId)] = true
	}
	for id, want := range map[string]bool{
		"jp.anthropic.claude-opus-5-5":      true,
		"global.anthropic.claude-opus-5-5":  true,
		"apac.anthropic.claude-opus-5-5":    false, // Opus 5.5 has no apac profile
		"apac.anthropic.claude-opus-4-6-v1": true,
		"us.anthropic.claude-sonnet-4-6":    false,
		"jp.anthropic.claude-fable-5-1":     false, // us and global only
		"global.anthropic.claude-fable-5-1": true,
	} {
		if ids[id] != want {
			t.Errorf("%s listed %v, want %v", id, ids[id], want)
		}
	}
}
