package bedrock

// The facts of each model (ids, profiles, betas, drops) are models.All's;
// this file keeps what holds for every model on Bedrock. The account's own
// lists (ListFoundationModels, ListInferenceProfiles) complete the table at
// start-up and the upstream's 400s refine the beta and field rules.

// context1M is the beta the gateway adds for "[1m]" model ids. It is sent only
// to models whose Accept list names it: the others either lack the 1M window
// or have it natively and refuse the flag.
const context1M = "context-1m-2025-08-07"

// rejectedEverywhere are flags of first-party features Bedrock does not have
// (OAuth, Files API); they are never sent.
var rejectedEverywhere = []string{"oauth-2025-04-20", "files-api-2025-04-14"}

// geoCandidates are the profile prefixes to try, in order, for a client in
// region. Japan and Australia have their own geographies for the newer
// models and fall back to apac (older models) and then global; the rest of
// Asia Pacific uses apac; a region of no geography uses global.
func geoCandidates(region string) []string {
	switch {
	case region == "ap-northeast-1" || region == "ap-northeast-3":
		return []string{"jp", "apac", "global"}
	case region == "ap-southeast-2" || region == "ap-southeast-4" || region == "ap-southeast-6":
		return []string{"au", "apac", "global"}
	case len(region) > 3 && region[:3] == "ap-":
		return []string{"apac", "global"}
	case len(region) > 7 && region[:7] == "us-gov-":
		return []string{"us-gov", "global"}
	case len(region) > 3 && (region[:3] == "us-" || region[:3] == "ca-"):
		return []string{"us", "global"}
	case len(region) > 3 && region[:3] == "eu-":
		return []string{"eu", "global"}
	}
	return []string{"global"}
}

// profilePrefixes are the first segments of system-defined inference profile
// ids; stripping one gives the base model id.
var profilePrefixes = []string{"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}
