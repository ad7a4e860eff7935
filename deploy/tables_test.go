package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge/dynamo"
)

// stackPrefix is the table prefix template.yaml gives the store: its
// DATABASE_URL is dynamodb://${AWS::StackName}, its tables ${AWS::StackName}-KIND.
const stackPrefix = "${AWS::StackName}"

// tableShape is what of a table the code and the template must agree on,
// each part one comparable line.
type tableShape struct {
	Billing string
	Keys    string   // "id S HASH, at N RANGE"
	Indexes []string // "NAME: KEYS, PROJECTION", sorted
	TTL     string   // "" for none
}

// shapeOfCode is the shape of a table as package dynamo makes it.
func shapeOfCode(t dynamo.Table) tableShape {
	in := t.Input
	attrs := map[string]string{}
	for _, a := range in.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	keys := func(ks []types.KeySchemaElement) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s %s %s", aws.ToString(k.AttributeName), attrs[aws.ToString(k.AttributeName)], k.KeyType))
		}
		return strings.Join(parts, ", ")
	}
	s := tableShape{Billing: string(in.BillingMode), Keys: keys(in.KeySchema), TTL: t.TTL}
	for _, ix := range in.GlobalSecondaryIndexes {
		proj := ""
		if ix.Projection != nil {
			proj = string(ix.Projection.ProjectionType)
		}
		s.Indexes = append(s.Indexes, fmt.Sprintf("%s: %s, %s", aws.ToString(ix.IndexName), keys(ix.KeySchema), proj))
	}
	slices.Sort(s.Indexes)
	return s
}

// shapeOfTemplate is the shape of an AWS::DynamoDB::Table's properties.
func shapeOfTemplate(p map[string]any) tableShape {
	attrs := map[string]string{}
	for _, a := range list(p["AttributeDefinitions"]) {
		attrs[str(object(a)["AttributeName"])] = str(object(a)["AttributeType"])
	}
	keys := func(ks any) string {
		var parts []string
		for _, k := range list(ks) {
			name := str(object(k)["AttributeName"])
			parts = append(parts, fmt.Sprintf("%s %s %s", name, attrs[name], str(object(k)["KeyType"])))
		}
		return strings.Join(parts, ", ")
	}
	s := tableShape{Billing: str(p["BillingMode"]), Keys: keys(p["KeySchema"])}
	if ttl := object(p["TimeToLiveSpecification"]); ttl["Enabled"] == true {
		s.TTL = str(ttl["AttributeName"])
	}
	for _, ix := range list(p["GlobalSecondaryIndexes"]) {
		ix := object(ix)
		s.Indexes = append(s.Indexes, fmt.Sprintf("%s: %s, %s", str(ix["IndexName"]), keys(ix["KeySchema"]), str(object(ix["Projection"])["ProjectionType"])))
	}
	slices.Sort(s.Indexes)
	return s
}

// tableProblems compares the tables of the code with the
// AWS::DynamoDB::Table resources of a template, both ways; a table the
// template lacks is told with the YAML that makes it.
func tableProblems(code []dynamo.Table, resources map[string]any) []string {
	var problems []string
	inTemplate := map[string]map[string]any{}
	for id, r := range resources {
		r := object(r)
		if r["Type"] != "AWS::DynamoDB::Table" {
			continue
		}
		p := object(r["Properties"])
		name := str(object(p["TableName"])["Fn::Sub"])
		if name == "" {
			problems = append(problems, fmt.Sprintf("%s: TableName must be !Sub %s-KIND, as dynamodb://%s names it", id, stackPrefix, stackPrefix))
			continue
		}
		inTemplate[name] = p
	}
	for _, t := range code {
		name := aws.ToString(t.Input.TableName)
		p, ok := inTemplate[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("table %s is missing; under Resources:\n%s", name, tableYAML(t)))
			continue
		}
		delete(inTemplate, name)
		got, want := shapeOfTemplate(p), shapeOfCode(t)
		if got.Billing != want.Billing {
			problems = append(problems, fmt.Sprintf("%s: BillingMode %q, the code's %q", name, got.Billing, want.Billing))
		}
		if got.Keys != want.Keys {
			problems = append(problems, fmt.Sprintf("%s: key %q, the code's %q", name, got.Keys, want.Keys))
		}
		if !slices.Equal(got.Indexes, want.Indexes) {
			problems = append(problems, fmt.Sprintf("%s: indexes %q, the code's %q", name, got.Indexes, want.Indexes))
		}
		if got.TTL != want.TTL {
			problems = append(problems, fmt.Sprintf("%s: TTL attribute %q, the code's %q", name, got.TTL, want.TTL))
		}
	}
	for name := range inTemplate {
		problems = append(problems, fmt.Sprintf("table %s is in the template but package dynamo uses no such table", name))
	}
	slices.Sort(problems)
	return problems
}

// tableYAML is the resource that makes t, to paste into template.yaml.
func tableYAML(t dynamo.Table) string {
	in := t.Input
	kind := strings.TrimPrefix(aws.ToString(in.TableName), stackPrefix+"-")
	var b strings.Builder
	id := ""
	for _, part := range strings.FieldsFunc(kind, func(r rune) bool { return r == '-' || r == '_' }) {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	fmt.Fprintf(&b, "  %sTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n", id)
	fmt.Fprintf(&b, "      TableName: !Sub %s\n      BillingMode: %s\n      AttributeDefinitions:\n", aws.ToString(in.TableName), in.BillingMode)
	defs := slices.Clone(in.AttributeDefinitions)
	slices.SortFunc(defs, func(a, b types.AttributeDefinition) int { return strings.Compare(*a.AttributeName, *b.AttributeName) })
	for _, a := range defs {
		fmt.Fprintf(&b, "        - {AttributeName: %s, AttributeType: %s}\n", *a.AttributeName, a.AttributeType)
	}
	keys := func(indent string, ks []types.KeySchemaElement) {
		for _, k := range ks {
			fmt.Fprintf(&b, "%s- {AttributeName: %s, KeyType: %s}\n", indent, *k.AttributeName, k.KeyType)
		}
	}
	b.WriteString("      KeySchema:\n")
	keys("        ", in.KeySchema)
	if len(in.GlobalSecondaryIndexes) > 0 {
		b.WriteString("      GlobalSecondaryIndexes:\n")
		for _, ix := range in.GlobalSecondaryIndexes {
			fmt.Fprintf(&b, "        - IndexName: %s\n          KeySchema:\n", *ix.IndexName)
			keys("            ", ix.KeySchema)
			fmt.Fprintf(&b, "          Projection: {ProjectionType: %s}\n", ix.Projection.ProjectionType)
		}
	}
	if t.TTL != "" {
		fmt.Fprintf(&b, "      TimeToLiveSpecification: {AttributeName: %s, Enabled: true}\n", t.TTL)
	}
	return b.String()
}

func list(v any) []any { l, _ := v.([]any); return l }
func str(v any) string { s, _ := v.(string); return s }

func TestTheTemplateMakesExactlyTheTablesOfPackageDynamo(t *testing.T) {
	for _, p := range tableProblems(dynamo.Tables(stackPrefix), object(rawTemplate(t)["Resources"])) {
		t.Error(p)
	}
}

func TestTheStoreOfTheTemplateIsDynamoDBUnderTheStacksName(t *testing.T) {
	env := object(object(function(t, rawTemplate(t))["Environment"])["Variables"])
	got := str(object(env["DATABASE_URL"])["Fn::Sub"])
	if want := "dynamodb://" + stackPrefix; got != want {
		t.Errorf("DATABASE_URL: got !Sub %q, want !Sub %q", got, want)
	}
}

// The table check on tables made up here: today package dynamo has none,
// and the check must still fail on each kind of difference.

func madeUpTable(prefix string) dynamo.Table {
	s, n := types.ScalarAttributeTypeS, types.ScalarAttributeTypeN
	return dynamo.Table{TTL: "expires", Input: &dynamodb.CreateTableInput{
		TableName:   aws.String(prefix + "-sessions"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: s}, {AttributeName: aws.String("user"), AttributeType: s},
			{AttributeName: aws.String("at"), AttributeType: n}},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("by-user"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("user"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("at"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
	}}
}

// resourcesOf reads YAML made by tableYAML as a template's resources.
func resourcesOf(t *testing.T, yaml string) map[string]any {
	t.Helper()
	tmpl := parseYAML(t, "Resources:\n"+yaml)
	return object(tmpl["Resources"])
}

func TestATableTheTemplateLacksIsToldWithTheYAMLThatMakesIt(t *testing.T) {
	problems := tableProblems([]dynamo.Table{madeUpTable(stackPrefix)}, map[string]any{})
	if got, want := len(problems), 1; got != want {
		t.Fatalf("problems: got %d, want %d: %q", got, want, problems)
	}
	if got, want := problems[0], "SessionsTable:"; !strings.Contains(got, want) {
		t.Errorf("problem: got %q, want it to hold %q", got, want)
	}
}

func TestTheYAMLToldForATableMakesThatTable(t *testing.T) {
	table := madeUpTable(stackPrefix)
	if got := tableProblems([]dynamo.Table{table}, resourcesOf(t, tableYAML(table))); len(got) != 0 {
		t.Errorf("problems: %q", got)
	}
}

func TestATableTheCodeDoesNotUseIsAProblem(t *testing.T) {
	table := madeUpTable(stackPrefix)
	problems := tableProblems(nil, resourcesOf(t, tableYAML(table)))
	if got, want := strings.Join(problems, "\n"), "package dynamo uses no such table"; !strings.Contains(got, want) {
		t.Errorf("problems: got %q, want one holding %q", got, want)
	}
}

func TestATableThatDiffersInKeyIndexOrTTLIsAProblem(t *testing.T) {
	for name, change := range map[string]func(*dynamo.Table){
		"key type": func(t *dynamo.Table) { t.Input.AttributeDefinitions[0].AttributeType = types.ScalarAttributeTypeN },
		"sort key": func(t *dynamo.Table) {
			t.Input.KeySchema = append(t.Input.KeySchema, types.KeySchemaElement{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange})
		},
		"index":      func(t *dynamo.Table) { t.Input.GlobalSecondaryIndexes = nil },
		"TTL":        func(t *dynamo.Table) { t.TTL = "" },
		"billing":    func(t *dynamo.Table) { t.Input.BillingMode = types.BillingModeProvisioned },
		"table name": func(t *dynamo.Table) { t.Input.TableName = aws.String(stackPrefix + "-other") },
	} {
		t.Run(name, func(t *testing.T) {
			changed := madeUpTable(stackPrefix)
			change(&changed)
			if got := tableProblems([]dynamo.Table{madeUpTable(stackPrefix)}, resourcesOf(t, tableYAML(changed))); len(got) == 0 {
				t.Error("no problem found")
			}
		})
	}
}
