package claudebridge

import (
	"context"
	"time"
)

// User is a person who chats. With no user configured, claudebridge serves
// one local user (LocalUser) on loopback addresses.
type User struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Conversation is a chat thread of one user.
type Conversation struct {
	ID        string // "conv_" + random
	UserID    int64
	Title     string // made from the first message; renamable
	Model     string // the model id its turns use
	PromptID  string // the saved system prompt chosen, "" for none
	CreatedAt time.Time
	UpdatedAt time.Time // last message or rename; lists sort by it, newest first
}

// Message statuses. A message is stored before its text is complete; its
// status says how it ended.
const (
	MessageComplete    = "complete"    // the model finished (end_turn, tool_use, stop_sequence)
	MessageStreaming   = "streaming"   // a turn is writing it now
	MessageStopped     = "stopped"     // the user pressed Stop: the text is partial
	MessageMaxTokens   = "max_tokens"  // cut by max_tokens: may be continued
	MessageError       = "error"       // the upstream failed: Error says why
	MessageInterrupted = "interrupted" // the server died while it streamed
)

// Message is one turn's text in a conversation.
type Message struct {
	ID             string // "msg_" + random
	ConversationID string
	Seq            int    // order within the conversation, from 1
	Role           string // "user" or "assistant"
	Content        string // Markdown text
	Status         string
	Error          string // client-safe message when Status is MessageError
	Model          string // for assistant messages: the model that wrote it
	Usage          Usage  // for assistant messages
	// OutputTokensCounted says Usage.OutputTokens (or part of it) was
	// counted from the text, not reported by the model: an answer cut by
	// Stop, a restart or an error never gets the model's final count.
	OutputTokensCounted bool
	TurnID              string // for assistant messages: the turn that writes or wrote it
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Prompt is a saved system prompt of one user.
type Prompt struct {
	ID        string // "prompt_" + random
	UserID    int64
	Name      string
	Text      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UsageRow is one user's usage of one model on one day (UTC).
type UsageRow struct {
	Day   string // YYYY-MM-DD
	Model string
	Usage Usage
	// CountedOutputTokens is the part of Usage.OutputTokens counted from
	// the text of cut answers rather than reported by the model.
	CountedOutputTokens int
	CostUSD             float64
}

// ConversationService stores conversations and their messages. Every method
// is scoped to a user: another user's conversation is ENOTFOUND.
type ConversationService interface {
	// CreateConversation stores c, filling ID, CreatedAt and UpdatedAt.
	CreateConversation(ctx context.Context, c *Conversation) error
	// Conversation returns one conversation; ENOTFOUND if absent or not userID's.
	Conversation(ctx context.Context, userID int64, id string) (*Conversation, error)
	// Conversations lists userID's conversations by UpdatedAt, newest first,
	// after the cursor ("" for the first page); next is "" on the last page.
	Conversations(ctx context.Context, userID int64, cursor string, limit int) (list []Conversation, next string, err error)
	// UpdateConversation saves Title, Model and PromptID of c.
	UpdateConversation(ctx context.Context, c *Conversation) error
	// DeleteConversation removes a conversation and its messages.
	DeleteConversation(ctx context.Context, userID int64, id string) error
	// SearchConversations lists userID's conversations whose title or any
	// message contains query (case-insensitive for ASCII letters), newest
	// first, at most limit (1 to 100, default 20). EINVALID for an empty
	// query.
	SearchConversations(ctx context.Context, userID int64, query string, limit int) ([]Conversation, error)

	// Messages returns a conversation's messages in Seq order.
	Messages(ctx context.Context, userID int64, conversationID string) ([]Message, error)
	// AddMessage appends m (Seq, ID, times filled) and touches the conversation.
	AddMessage(ctx context.Context, m *Message) error
	// UpdateMessage saves Content, Status, Error, Usage, Model and TurnID of
	// m (a continued answer is written by a new turn, and may be by another
	// model).
	UpdateMessage(ctx context.Context, m *Message) error
	// DeleteMessagesFrom removes the messages of a conversation from seq on
	// (regenerating a turn replaces its answer and what followed).
	DeleteMessagesFrom(ctx context.Context, conversationID string, seq int) error
	// ImportConversations stores whole conversations, all or none: each
	// Conversation and its Messages (IDs, Seq and times filled; a
	// message's ConversationID is set to its conversation's).
	ImportConversations(ctx context.Context, list []ImportedConversation) error
}

// StreamingText is the text so far of an answer a turn is writing.
type StreamingText struct {
	MessageID string
	TurnID    string
	Content   string
}

// StreamingTextSaver is a ConversationService that saves the growing texts
// of many answers at once, in one statement: the chat saves every answer
// being written once per interval, and a store without it is called
// UpdateMessage for each.
type StreamingTextSaver interface {
	// SaveStreamingTexts sets Content (and UpdatedAt) of each message still
	// streaming under TurnID; a message that ended, was continued by
	// another turn or is absent is left as it is, without an error.
	SaveStreamingTexts(ctx context.Context, texts []StreamingText) error
}

// InterruptedMessage is a message a crash cut while it streamed.
type InterruptedMessage struct {
	UserID  int64
	Message Message
}

// ImportedConversation is one conversation of an import.
type ImportedConversation struct {
	Conversation *Conversation
	Messages     []*Message
}

// PromptService stores saved system prompts, scoped to a user.
type PromptService interface {
	CreatePrompt(ctx context.Context, p *Prompt) error
	Prompt(ctx context.Context, userID int64, id string) (*Prompt, error)
	Prompts(ctx context.Context, userID int64) ([]Prompt, error)
	UpdatePrompt(ctx context.Context, p *Prompt) error
	DeletePrompt(ctx context.Context, userID int64, id string) error
}

// UsageService is the ledger of tokens and cost per user, day and model.
type UsageService interface {
	// AddUsage adds u and its cost to userID's row for day and model;
	// counted says u.OutputTokens were counted from the text, not reported
	// by the model (they are added to CountedOutputTokens as well).
	AddUsage(ctx context.Context, userID int64, day, model string, u Usage, costUSD float64, counted bool) error
	// Usage returns userID's rows with from <= Day <= to (YYYY-MM-DD), by day then model.
	Usage(ctx context.Context, userID int64, from, to string) ([]UsageRow, error)
}

// UserService stores users, their password hashes and their sessions.
type UserService interface {
	// CreateUser stores a user with a password hash (argon2id or bcrypt,
	// made by the caller). EINVALID if the name is taken.
	CreateUser(ctx context.Context, name, passwordHash string) (*User, error)
	// UserByName returns the user and its password hash; ENOTFOUND if absent.
	UserByName(ctx context.Context, name string) (*User, string, error)
	// EnsureUser returns the user of that name, creating it without a
	// password if absent (the local user; trusted-header users).
	EnsureUser(ctx context.Context, name string) (*User, error)
	// CountUsers tells whether login is needed at all.
	CountUsers(ctx context.Context) (int, error)
	// CreateSession stores a session token's hash for userID until expires.
	CreateSession(ctx context.Context, userID int64, tokenHash string, expires time.Time) error
	// SessionUser returns the user of a live session; EAUTH if none.
	SessionUser(ctx context.Context, tokenHash string) (*User, error)
	// DeleteSession ends a session.
	DeleteSession(ctx context.Context, tokenHash string) error
}
