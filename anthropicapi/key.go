package anthropicapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// KeySource gives the API key sent as x-api-key. Implementations are safe for
// concurrent use, and their errors never contain the key.
type KeySource interface {
	// Key returns the current key.
	Key(ctx context.Context) (string, error)
	// Refresh fetches the key again, after the API refused the current one,
	// and returns it. A source that cannot change returns the same key.
	Refresh(ctx context.Context) (string, error)
}

// StaticKey returns a KeySource that always gives k (ANTHROPIC_API_KEY).
func StaticKey(k string) KeySource { return staticKey(k) }

type staticKey string

func (k staticKey) Key(context.Context) (string, error)     { return string(k), nil }
func (k staticKey) Refresh(context.Context) (string, error) { return string(k), nil }

// SecretsManagerKey returns a KeySource that reads the key from the AWS
// Secrets Manager secret secretName: a JSON object whose "api_key" member is
// the key (an "ANTHROPIC_API_KEY" member is taken too), or, when the secret
// is not a JSON object, the whole secret string. The key is fetched on first
// use and kept; Refresh fetches it again, and concurrent Refresh calls share
// one fetch.
func SecretsManagerKey(client *secretsmanager.Client, secretName string) KeySource {
	return &secretKey{client: client, name: secretName}
}

type secretKey struct {
	client *secretsmanager.Client
	name   string

	mu        sync.Mutex
	key       string
	fetchedAt time.Time
}

func (s *secretKey) Key(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != "" {
		return s.key, nil
	}
	return s.fetch(ctx)
}

func (s *secretKey) Refresh(ctx context.Context) (string, error) {
	asked := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Many calls fail with the old key at once after a rotation: those that
	// waited while another fetched take that fetch's key.
	if s.key != "" && s.fetchedAt.After(asked) {
		return s.key, nil
	}
	return s.fetch(ctx)
}

// fetch reads the secret; s.mu is held.
func (s *secretKey) fetch(ctx context.Context) (string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.name)})
	if err != nil {
		// AWS errors name the secret and the failure, never its value.
		return "", fmt.Errorf("anthropicapi: reading secret %q: %w", s.name, err)
	}
	var secret string
	switch {
	case out.SecretString != nil:
		secret = *out.SecretString
	case out.SecretBinary != nil:
		secret = string(out.SecretBinary)
	}
	key, err := keyFromSecret(secret)
	if err != nil {
		return "", fmt.Errorf("anthropicapi: secret %q: %w", s.name, err)
	}
	s.key, s.fetchedAt = key, time.Now()
	return key, nil
}

// keyFromSecret finds the key in a secret's text. Its errors say what is
// wrong without quoting the secret: a JSON syntax error would.
func keyFromSecret(secret string) (string, error) {
	secret = strings.TrimSpace(secret)
	if strings.HasPrefix(secret, "{") {
		var fields map[string]any
		if json.Unmarshal([]byte(secret), &fields) != nil {
			return "", errors.New("secret looks like JSON but does not parse")
		}
		for _, name := range []string{"api_key", "ANTHROPIC_API_KEY"} {
			if k, ok := fields[name].(string); ok && strings.TrimSpace(k) != "" {
				return strings.TrimSpace(k), nil
			}
		}
		return "", errors.New(`secret JSON has no "api_key" string`)
	}
	if secret == "" {
		return "", errors.New("secret is empty")
	}
	return secret, nil
}
