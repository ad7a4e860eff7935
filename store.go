package claudebridge

import "context"

// Store is every service a database gives serve and the commands, whichever
// engine holds it (SQLite, PostgreSQL): one value, opened from DATABASE_URL.
type Store interface {
	UserService
	UserAdmin
	ConversationService
	PromptService
	UsageService
	KeyService
	LedgerService
	BatchService
	RecordStore
	TurnLeaseService
	SocketService
	Close() error
}

// UserAdmin is what `claudebridge users` calls on the store.
type UserAdmin interface {
	// SetPassword replaces a user's password hash and ends the user's
	// sessions; ENOTFOUND if there is no such user.
	SetPassword(ctx context.Context, name, passwordHash string) error
	// DeleteUser removes a user with its sessions, conversations, prompts
	// and usage; ENOTFOUND if there is no such user.
	DeleteUser(ctx context.Context, name string) error
	// Users lists every user by name.
	Users(ctx context.Context) ([]User, error)
}
