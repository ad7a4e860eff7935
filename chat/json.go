package chat

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// maxJSONBody bounds a request body (imports included).
const maxJSONBody = 32 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type errorJSON struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers {"error":{"type","message"}} with the status of err's
// code. Internal failures show "Internal server error", never their cause,
// which goes to the log instead.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	if claudebridge.ErrorCode(err) == claudebridge.EINTERNAL {
		s.log.Error("chat: request failed", "err", err)
	}
	status, typ := anthropic.Status(claudebridge.ErrorCode(err))
	var body errorJSON
	body.Error.Type, body.Error.Message = typ, claudebridge.ErrorMessage(err)
	writeJSON(w, status, body)
}

// decode reads a JSON body into v; EINVALID if it is not.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return claudebridge.Errorf(claudebridge.ETOOLARGE, "The request body is over %d bytes", maxJSONBody)
	}
	if err != nil {
		return claudebridge.Errorf(claudebridge.EINVALID, "The request body could not be read")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return claudebridge.Errorf(claudebridge.EINVALID, "The request body is not valid JSON: %v", err)
	}
	return nil
}
