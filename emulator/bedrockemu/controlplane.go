package bedrockemu

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// controlPlane serves the read operations of the Bedrock control plane
// that callers use to learn which models and profiles exist.
func (b *bedrockServer) controlPlane(w http.ResponseWriter, r *http.Request, requestID string, segments []string) {
	switch {
	case segments[0] == "foundation-models" && len(segments) == 1:
		b.listFoundationModels(w, r, requestID)
	case segments[0] == "foundation-models" && len(segments) == 2:
		ref, e := b.resolveModel(segments[1])
		if e != nil || ref.Kind != "base" {
			(&bedrockwire.Error{Type: "ResourceNotFoundException", Status: http.StatusNotFound, Message: "The provided model identifier is invalid."}).Write(w, requestID)
			return
		}
		writeJSON(w, requestID, map[string]any{"modelDetails": b.foundationModel(ref.Model)})
	case segments[0] == "inference-profiles" && len(segments) == 1:
		b.listInferenceProfiles(w, r, requestID)
	case segments[0] == "inference-profiles" && len(segments) == 2:
		for _, p := range b.inferenceProfiles() {
			if p["inferenceProfileId"] == segments[1] || p["inferenceProfileArn"] == segments[1] {
				writeJSON(w, requestID, p)
				return
			}
		}
		(&bedrockwire.Error{Type: "ResourceNotFoundException", Status: http.StatusNotFound, Message: "Inference profile " + segments[1] + " not found."}).Write(w, requestID)
	default:
		(&bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "Unknown operation", Namespace: bedrockwire.CoralNamespace}).Write(w, requestID)
	}
}

func (b *bedrockServer) foundationModelARN(m *bedrockModel, region string) string {
	return "arn:aws:bedrock:" + region + "::foundation-model/" + m.BedrockID
}

func (b *bedrockServer) foundationModel(m *bedrockModel) map[string]any {
	inference := []string{"ON_DEMAND"}
	if m.ProfileOnly {
		inference = []string{"INFERENCE_PROFILE"}
	}
	return map[string]any{
		"modelArn":                   b.foundationModelARN(m, b.region),
		"modelId":                    m.BedrockID,
		"modelName":                  m.Name,
		"providerName":               "Anthropic",
		"inputModalities":            []string{"TEXT", "IMAGE"},
		"outputModalities":           []string{"TEXT"},
		"responseStreamingSupported": true,
		"customizationsSupported":    []string{},
		"inferenceTypesSupported":    inference,
		"modelLifecycle":             map[string]string{"status": "ACTIVE"},
	}
}

// listFoundationModels serves ListFoundationModels with its byProvider,
// byInferenceType and byOutputModality filters.
func (b *bedrockServer) listFoundationModels(w http.ResponseWriter, r *http.Request, requestID string) {
	q := r.URL.Query()
	summaries := []map[string]any{}
	for _, m := range bedrockModels {
		fm := b.foundationModel(m)
		if p := q.Get("byProvider"); p != "" && !strings.EqualFold(p, "anthropic") {
			continue
		}
		if t := q.Get("byInferenceType"); t != "" && !contains(fm["inferenceTypesSupported"].([]string), t) {
			continue
		}
		if o := q.Get("byOutputModality"); o != "" && o != "TEXT" {
			continue
		}
		summaries = append(summaries, fm)
	}
	writeJSON(w, requestID, map[string]any{"modelSummaries": summaries})
}

// geographyRegions are the regions a system profile of a geography routes
// to, the emulator's own region first.
func (b *bedrockServer) geographyRegions(prefix string) []string {
	var regions []string
	switch prefix {
	case "eu":
		regions = []string{"eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"}
	case "apac":
		regions = []string{"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"}
	case "jp":
		regions = []string{"ap-northeast-1", "ap-northeast-3"}
	case "au":
		regions = []string{"ap-southeast-2", "ap-southeast-4"}
	case "global":
		regions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1"}
	case "ca":
		regions = []string{"ca-central-1"}
	case "us-gov":
		regions = []string{"us-gov-west-1", "us-gov-east-1"}
	default:
		regions = []string{"us-east-1", "us-east-2", "us-west-2"}
	}
	out := []string{b.region}
	for _, r := range regions {
		if r != b.region {
			out = append(out, r)
		}
	}
	return out
}

// inferenceProfiles lists the system-defined profiles of every model in the
// emulator's region, then the application profiles.
func (b *bedrockServer) inferenceProfiles() []map[string]any {
	created := b.started.Format(time.RFC3339)
	var out []map[string]any
	system := map[string]map[string]any{}
	for _, m := range bedrockModels {
		for _, id := range m.profileIDs(b.region) {
			prefix, _, _ := strings.Cut(id, ".")
			var models []map[string]string
			for _, region := range b.geographyRegions(prefix) {
				models = append(models, map[string]string{"modelArn": b.foundationModelARN(m, region)})
			}
			geo := strings.ToUpper(prefix)
			p := map[string]any{
				"inferenceProfileName": geo + " Anthropic " + m.Name,
				"description":          "Routes requests to Anthropic " + m.Name + " in " + geo + " regions.",
				"createdAt":            created,
				"updatedAt":            created,
				"inferenceProfileArn":  "arn:aws:bedrock:" + b.region + ":" + emulatorAccount + ":inference-profile/" + id,
				"inferenceProfileId":   id,
				"models":               models,
				"status":               "ACTIVE",
				"type":                 "SYSTEM_DEFINED",
			}
			system[id] = p
			out = append(out, p)
		}
	}
	for _, a := range defaultApplicationProfilesOf(b) {
		wrapped, ok := system[a.Wraps]
		if !ok {
			continue
		}
		out = append(out, map[string]any{
			"inferenceProfileName": a.Name,
			"description":          "Application inference profile copied from " + a.Wraps + ".",
			"createdAt":            created,
			"updatedAt":            created,
			"inferenceProfileArn":  "arn:aws:bedrock:" + b.region + ":" + emulatorAccount + ":application-inference-profile/" + a.ID,
			"inferenceProfileId":   a.ID,
			"models":               wrapped["models"],
			"status":               "ACTIVE",
			"type":                 "APPLICATION",
		})
	}
	return out
}

func defaultApplicationProfilesOf(b *bedrockServer) []applicationProfile {
	var out []applicationProfile
	for _, p := range defaultApplicationProfiles {
		out = append(out, b.applicationProfiles[p.ID])
	}
	return out
}

// listInferenceProfiles serves ListInferenceProfiles: the "type" query
// (typeEquals) filters, maxResults (1..1000, default 1000) and nextToken
// page.
func (b *bedrockServer) listInferenceProfiles(w http.ResponseWriter, r *http.Request, requestID string) {
	q := r.URL.Query()
	typ := q.Get("type")
	if typ != "" && typ != "SYSTEM_DEFINED" && typ != "APPLICATION" {
		bedrockwire.ValidationError("1 validation error detected: Value '"+typ+"' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]").Write(w, requestID)
		return
	}
	var all []map[string]any
	for _, p := range b.inferenceProfiles() {
		if typ == "" || p["type"] == typ {
			all = append(all, p)
		}
	}
	limit := 1000
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			bedrockwire.ValidationError("1 validation error detected: Value '"+s+"' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000").Write(w, requestID)
			return
		}
		limit = n
	}
	offset := 0
	if tok := q.Get("nextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(all) {
			bedrockwire.ValidationError("The provided pagination token is invalid.").Write(w, requestID)
			return
		}
		offset = n
	}
	end := min(offset+limit, len(all))
	resp := map[string]any{"inferenceProfileSummaries": append([]map[string]any{}, all[offset:end]...)}
	if end < len(all) {
		resp["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	writeJSON(w, requestID, resp)
}
