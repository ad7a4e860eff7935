package anthropic

import (
	"net/url"
	"regexp"
	"strings"
)

// What an upstream's error text may say about the deployment behind
// claudebridge and no client should learn: the AWS account, the role
// claudebridge runs as, the ARNs of its resources, the hosts and addresses
// it calls. Foundation-model ARNs name no account and are left.
var (
	accountARN = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:\d{12}:[^\s"',;)]+`)
	rolePath   = regexp.MustCompile(`\b(?:assumed-role|role)/[A-Za-z0-9][A-Za-z0-9+=,.@_/-]*`)
	accountID  = regexp.MustCompile(`\b\d{12}\b`)
	urlText    = regexp.MustCompile(`\b[a-z][a-z0-9+.-]*://[^\s"',;)]+`)
	awsHost    = regexp.MustCompile(`\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:amazonaws\.com(?:\.cn)?|api\.aws|on\.aws)\b(?::\d+)?`)
	ipAddress  = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9A-Fa-f:.]+\](?::\d+)?`)
)

// publicDocs are the hosts whose URLs an error may keep: the services'
// documentation, which the Anthropic API's messages point to.
var publicDocs = []string{"anthropic.com", "claude.com", "docs.aws.amazon.com"}

// CleanMessage returns an upstream's error text with what names the
// deployment replaced: ARNs with an account by "<arn>", role paths by
// "<role>", 12-digit account ids by "<account>", URLs (but those of the
// public documentation), AWS hosts and IP addresses by "<host>". The
// Anthropic error paths ("messages.0.content") and model ids are left as
// they are. Callers log the original.
func CleanMessage(s string) string {
	if accountARN.MatchString(s) {
		s = accountARN.ReplaceAllString(s, "<arn>")
	}
	if urlText.MatchString(s) {
		s = urlText.ReplaceAllStringFunc(s, func(u string) string {
			if isPublicDoc(u) {
				return u
			}
			return "<host>"
		})
	}
	for _, r := range []struct {
		re   *regexp.Regexp
		with string
	}{
		{awsHost, "<host>"},
		{rolePath, "<role>"},
		{accountID, "<account>"},
		{ipAddress, "<host>"},
	} {
		if r.re.MatchString(s) {
			s = r.re.ReplaceAllString(s, r.with)
		}
	}
	return s
}

func isPublicDoc(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" {
		return false
	}
	host := u.Hostname()
	for _, d := range publicDocs {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
