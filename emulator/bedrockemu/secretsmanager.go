package bedrockemu

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// secretsManager serves the Secrets Manager operations the emulator knows
// (GetSecretValue) over the AWS JSON 1.1 protocol.
func (b *bedrockServer) secretsManager(w http.ResponseWriter, r *http.Request, requestID, target string, body []byte) {
	if target != "secretsmanager.GetSecretValue" {
		writeJSON11Error(w, requestID, &bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusBadRequest, Message: "The action or operation requested is invalid. Verify that the action is typed correctly."})
		return
	}
	var req struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.SecretID == "" {
		writeJSON11Error(w, requestID, &bedrockwire.Error{Type: "ValidationException", Status: http.StatusBadRequest, Message: "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"})
		return
	}
	name := b.secretName(req.SecretID)
	value, ok := b.secrets[name]
	if !ok {
		b.log.Info("secretsmanager: no such secret")
		writeJSON11Error(w, requestID, &bedrockwire.Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest, Message: "Secrets Manager can't find the specified secret."})
		return
	}
	resp, _ := json.Marshal(map[string]any{
		"ARN":           b.secretARN(name),
		"Name":          name,
		"SecretString":  value,
		"VersionId":     secretVersionID(name),
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(b.started.UnixMilli()) / 1000,
	})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.Write(resp)
}

// secretName accepts a secret's name or its ARN (with or without the
// six-character suffix Secrets Manager adds to ARNs).
func (b *bedrockServer) secretName(id string) string {
	if !strings.HasPrefix(id, "arn:") {
		return id
	}
	_, name, ok := strings.Cut(id, ":secret:")
	if !ok {
		return id
	}
	if _, known := b.secrets[name]; known {
		return name
	}
	if i := strings.LastIndex(name, "-"); i > 0 && len(name)-i == 7 {
		return name[:i]
	}
	return name
}

// secretARN is the ARN of a secret, with a suffix derived from its name so
// that it is the same on every run.
func (b *bedrockServer) secretARN(name string) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte(name))
	suffix := make([]byte, 6)
	for i := range suffix {
		suffix[i] = letters[int(sum[i])%len(letters)]
	}
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", b.region, emulatorAccount, name, suffix)
}

// secretVersionID is a UUID derived from the secret's name (secret values
// never feed it).
func secretVersionID(name string) string {
	s := sha256.Sum256([]byte("version:" + name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}
