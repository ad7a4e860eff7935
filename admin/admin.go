// Package admin is the admin HTTP API under /admin/: virtual keys are
// made (POST /admin/keys, the secret shown once), listed (GET /admin/keys)
// and revoked (DELETE /admin/keys/NAME). Every call needs ADMIN_KEY as
// "Authorization: Bearer"; errors are in the Anthropic shape.
package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Handler serves /admin/. Create it with New.
type Handler struct {
	keys  claudebridge.KeyService
	admin [sha256.Size]byte
	set   bool
}

// New returns the admin API over keys, open to adminKey. With an empty
// adminKey every path answers 404 not_found_error, as for a path that does
// not exist: an admin API without a key of its own is not served at all,
// and a scanner learns nothing from it.
func New(keys claudebridge.KeyService, adminKey string) *Handler {
	h := &Handler{keys: keys}
	if adminKey != "" {
		h.admin, h.set = sha256.Sum256([]byte(adminKey)), true
	}
	return h
}

// KeyJSON is a key as the admin API shows it; Key (the secret) only in the
// answer to its creation.
type KeyJSON struct {
	Name              string     `json:"name"`
	Key               string     `json:"key,omitempty"`
	Prefix            string     `json:"prefix"`
	RPM               int        `json:"rpm,omitempty"`
	TPM               int        `json:"tpm,omitempty"`
	Concurrency       int        `json:"concurrency,omitempty"`
	BudgetUSD         float64    `json:"budget_usd,omitempty"`
	Period            string     `json:"period,omitempty"`
	MaxCostPerRequest float64    `json:"max_cost_per_request,omitempty"`
	Models            []string   `json:"models,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	RevokedAt         *time.Time `json:"revoked_at,omitempty"`
}

func view(k *claudebridge.Key) KeyJSON {
	v := KeyJSON{Name: k.Name, Prefix: k.Prefix, RPM: k.RPM, TPM: k.TPM, Concurrency: k.Concurrency,
		BudgetUSD: k.BudgetUSD, Period: k.BudgetPeriod, MaxCostPerRequest: k.MaxCostPerRequest,
		Models: k.Models, CreatedAt: k.CreatedAt}
	if k.Revoked() {
		v.RevokedAt = &k.RevokedAt
	}
	return v
}

// ServeHTTP routes /admin/keys and /admin/keys/NAME.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	w.Header().Set("request-id", id)
	w.Header().Set("Cache-Control", "no-store") // a new key's secret is in an answer
	if !h.set {
		anthropic.WriteError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path), id)
		return
	}
	if err := h.check(r); err != nil {
		anthropic.WriteError(w, err, id)
		return
	}
	path := r.URL.EscapedPath()
	var err error
	switch {
	case path == "/admin/keys" && r.Method == http.MethodPost:
		err = h.create(w, r)
	case path == "/admin/keys" && r.Method == http.MethodGet:
		err = h.list(w, r)
	case strings.HasPrefix(path, "/admin/keys/") && r.Method == http.MethodDelete:
		name, uerr := url.PathUnescape(strings.TrimPrefix(path, "/admin/keys/"))
		if uerr != nil || name == "" {
			err = claudebridge.Errorf(claudebridge.ENOTFOUND, "key not found")
			break
		}
		err = h.revoke(w, r, name)
	default:
		err = claudebridge.Errorf(claudebridge.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path)
	}
	if err != nil {
		anthropic.WriteError(w, err, id)
	}
}

// check returns EAUTH unless r carries the admin key as a bearer token,
// compared in constant time.
func (h *Handler) check(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if len(auth) <= 7 || !strings.EqualFold(auth[:7], "bearer ") {
		return claudebridge.Errorf(claudebridge.EAUTH, "Authorization: Bearer with the admin key is required")
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(auth[7:])))
	if subtle.ConstantTimeCompare(d[:], h.admin[:]) != 1 {
		return claudebridge.Errorf(claudebridge.EAUTH, "invalid admin key")
	}
	return nil
}

// createRequest is the body of POST /admin/keys: KeyJSON's fields that
// an admin sets.
type createRequest struct {
	Name              string   `json:"name"`
	RPM               int      `json:"rpm"`
	TPM               int      `json:"tpm"`
	Concurrency       int      `json:"concurrency"`
	BudgetUSD         float64  `json:"budget_usd"`
	Period            string   `json:"period"`
	MaxCostPerRequest float64  `json:"max_cost_per_request"`
	Models            []string `json:"models"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return claudebridge.Errorf(claudebridge.EINVALID, "The body is not a key: %v", err)
	}
	secret, prefix, hash := claudebridge.NewKeySecret()
	k := &claudebridge.Key{Name: in.Name, Prefix: prefix, Hash: hash, RPM: in.RPM, TPM: in.TPM,
		Concurrency: in.Concurrency, BudgetUSD: in.BudgetUSD, BudgetPeriod: in.Period,
		MaxCostPerRequest: in.MaxCostPerRequest, Models: in.Models}
	if err := h.keys.CreateKey(r.Context(), k); err != nil {
		return err
	}
	v := view(k)
	v.Key = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	list, err := h.keys.Keys(r.Context())
	if err != nil {
		return err
	}
	data := make([]KeyJSON, 0, len(list))
	for i := range list {
		data = append(data, view(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, name string) error {
	if err := h.keys.RevokeKey(r.Context(), name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "revoked": true})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// requestID makes an id in the form of the Anthropic API's ("req_" and
// 24 characters), for the admin's logs and error bodies.
func requestID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return "req_" + base64.RawURLEncoding.EncodeToString(b)
}
